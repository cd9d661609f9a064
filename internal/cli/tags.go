package cli

import (
	"log/slog"

	"github.com/spf13/pflag"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
)

// registerTags adds -T/--tags and -E/--exclude-tags. As Locust's, they
// take several tags; here repeated or comma-separated (-T a,b -T c), and
// in the environment separated by commas or ';' (STAMPEDE_TAGS=a,b).
func registerTags(fs *pflag.FlagSet, tags, exclude *[]string) {
	fs.StringSliceVarP(tags, "tags", "T", nil, "run only the tasks with at least one of these tags (comma-separated or repeated; Locust's -T)")
	fs.StringSliceVarP(exclude, "exclude-tags", "E", nil, "do not run the tasks with any of these tags (comma-separated or repeated; Locust's -E)")
}

// selectTags is the script reduced to the tasks a test's tag selection
// keeps, for the runner or the open model. A selection that leaves
// nothing is an error on the tags field; classes it empties are logged.
func selectTags(s *script.Script, p engine.Params, log *slog.Logger) (*script.Script, error) {
	sel, err := scriptFor(s, p).SelectTags(p.Tags, p.ExcludeTags)
	if err != nil {
		return nil, &engine.FieldError{Field: "tags", Msg: err.Error()}
	}
	if len(sel.Excluded) > 0 {
		log.Warn("user classes left with no task by the tag selection get no users",
			"classes", sel.Excluded, "selection", script.DescribeTags(p.Tags, p.ExcludeTags))
	}
	return sel, nil
}
