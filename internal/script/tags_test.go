package script

import (
	"strings"
	"testing"
)

func TestSelectTags(t *testing.T) {
	s := mustLoad(t, `
def a(u):
    pass
def b(u):
    pass
def c(u):
    pass
def d(u):
    pass
inner = taskset(tasks=[task(c, tags=["slow"]), d], name="inner")
outer = taskset(tasks=[task(b, tags=["write"]), inner], name="outer")
u1 = user(tasks=[task(a, tags=["read"]), task(outer, tags=["shop"])])
u2 = user(tasks=[task(d, tags=["admin"])])
u3 = user(tasks=[a])
`, Options{})
	// selected lists each class's remaining tasks, depth first, with
	// set names in brackets.
	selected := func(s *Script) string {
		var parts []string
		for _, c := range s.Classes {
			var names []string
			c.WalkTasks(func(t *Task, depth int, _ []string) {
				n := t.Name
				if t.Set != nil {
					n = "[" + n + "]"
				}
				names = append(names, strings.Repeat(">", depth)+n)
			})
			parts = append(parts, c.Name+":"+strings.Join(names, ","))
		}
		return strings.Join(parts, " ")
	}
	tests := []struct {
		name          string
		tags, exclude []string
		want          string
		excluded      string
		err           string
	}{
		{name: "no selection", want: "u1:a,[outer],>b,>[inner],>>c,>>d u2:d u3:a"},
		{name: "a task's tag", tags: []string{"read"}, want: "u1:a", excluded: "u2 u3"},
		// a set's tag is its tasks' tag, down to the innermost
		{name: "a set's tag", tags: []string{"shop"}, want: "u1:[outer],>b,>[inner],>>c,>>d", excluded: "u2 u3"},
		{name: "a nested tag keeps its sets", tags: []string{"slow"}, want: "u1:[outer],>[inner],>>c", excluded: "u2 u3"},
		{name: "any of the tags", tags: []string{"read", "admin"}, want: "u1:a u2:d", excluded: "u3"},
		{name: "exclude drops tagged tasks, keeps untagged", exclude: []string{"slow", "admin"}, want: "u1:a,[outer],>b,>[inner],>>d u3:a", excluded: "u2"},
		{name: "exclude a set", exclude: []string{"shop"}, want: "u1:a u2:d u3:a"},
		{name: "tags and exclude", tags: []string{"shop"}, exclude: []string{"write", "slow"}, want: "u1:[outer],>[inner],>>d", excluded: "u2 u3"},
		{name: "nothing left", tags: []string{"nope"}, err: "no task of any user class is left by --tags nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SelectTags(tc.tags, tc.exclude)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel := selected(got); sel != tc.want {
				t.Errorf("selected %s\nwant     %s", sel, tc.want)
			}
			if ex := strings.Join(got.Excluded, " "); ex != tc.excluded {
				t.Errorf("excluded %q, want %q", ex, tc.excluded)
			}
		})
	}
	// The script itself is not changed by a selection.
	if sel := selected(s); sel != tests[0].want {
		t.Errorf("after selections the script has %s", sel)
	}
}
