package script

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// exprCase is a piece of script and what it must give: `out = <src>` is
// appended when src assigns no `out`. want is the repr of out, or
// "error: <substring of the load error>".
type exprCase struct{ src, want string }

// evalOut loads src with a user class added and returns its global out.
func evalOut(t *testing.T, src string) (starlark.Value, error) {
	t.Helper()
	if !strings.Contains(src, "out =") {
		src = "out = " + src
	}
	s, err := loadSrc(t, src+"\n_c = user(tasks=[lambda u: None])\n", Options{MaxSteps: 1_000_000})
	if err != nil {
		return nil, err
	}
	return s.Globals["out"], nil
}

func runExprCases(t *testing.T, cases []exprCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			out, err := evalOut(t, tc.src)
			if want, isErr := strings.CutPrefix(tc.want, "error: "); isErr {
				if err == nil {
					t.Fatalf("got %s, want an error containing %q", out, want)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error %q, want it to contain %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
