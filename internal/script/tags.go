package script

import (
	"fmt"
	"slices"
	"strings"
)

// SelectTags returns the script with only the tasks that -T/--tags and
// -E/--exclude-tags select, by Locust's rules: with tags, a task runs
// when it has at least one of them; with exclude tags, when it has none
// of them; a task's tags include those given to the task sets around it.
// A task set left with no task is dropped from its parent, and a user
// class left with no task is dropped from the test (listed in Excluded)
// where Locust would start users that fail at once. No class left is an
// error. With neither list, s itself is returned.
func (s *Script) SelectTags(tags, exclude []string) (*Script, error) {
	if len(tags) == 0 && len(exclude) == 0 {
		return s, nil
	}
	out := *s
	out.Classes, out.Excluded = nil, nil
	for _, c := range s.Classes {
		set, ok := selectSet(&c.TaskSet, nil, tags, exclude)
		if !ok {
			out.Excluded = append(out.Excluded, c.Name)
			continue
		}
		nc := *c
		nc.TaskSet = *set
		out.Classes = append(out.Classes, &nc)
	}
	if len(out.Classes) == 0 {
		return nil, fmt.Errorf("no task of any user class is left by %s", DescribeTags(tags, exclude))
	}
	return &out, nil
}

// DescribeTags is a tag selection as the flags spell it.
func DescribeTags(tags, exclude []string) string {
	var parts []string
	if len(tags) > 0 {
		parts = append(parts, "--tags "+strings.Join(tags, ","))
	}
	if len(exclude) > 0 {
		parts = append(parts, "--exclude-tags "+strings.Join(exclude, ","))
	}
	return strings.Join(parts, " ")
}

// selectSet is s reduced to its selected tasks; false when none with a
// positive weight is left.
func selectSet(s *TaskSet, inherited, tags, exclude []string) (*TaskSet, bool) {
	ns := &TaskSet{Sequential: s.Sequential, Wait: s.Wait, OnStart: s.OnStart, OnStop: s.OnStop, name: s.name}
	for _, t := range s.Tasks {
		eff := appendTags(slices.Clone(inherited), t.Tags...)
		if t.Set != nil {
			sub, ok := selectSet(t.Set, eff, tags, exclude)
			if !ok {
				continue
			}
			t.Set = sub
		} else if !tagSelected(eff, tags, exclude) {
			continue
		}
		ns.Tasks = append(ns.Tasks, t)
	}
	ns.index()
	return ns, ns.TotalTaskWeight() > 0
}

func tagSelected(has, tags, exclude []string) bool {
	if len(tags) > 0 && !slices.ContainsFunc(has, func(t string) bool { return slices.Contains(tags, t) }) {
		return false
	}
	return !slices.ContainsFunc(has, func(t string) bool { return slices.Contains(exclude, t) })
}

// WalkTasks calls fn for every task of the class, depth first, with its
// depth (0: the class's own tasks) and its tags together with those of
// the sets around it.
func (c *UserClass) WalkTasks(fn func(t *Task, depth int, tags []string)) {
	walkSet(&c.TaskSet, 0, nil, fn)
}

func walkSet(s *TaskSet, depth int, inherited []string, fn func(*Task, int, []string)) {
	for i := range s.Tasks {
		t := &s.Tasks[i]
		eff := appendTags(slices.Clone(inherited), t.Tags...)
		fn(t, depth, eff)
		if t.Set != nil {
			walkSet(t.Set, depth+1, eff, fn)
		}
	}
}

// TaskTags are the tags that tasks of the script have, sorted.
func (s *Script) TaskTags() []string {
	var all []string
	for _, c := range s.Classes {
		c.WalkTasks(func(t *Task, _ int, _ []string) { all = appendTags(all, t.Tags...) })
	}
	slices.Sort(all)
	return all
}
