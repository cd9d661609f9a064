package cli

import "github.com/spf13/cobra"

// extraCommands are the subcommands beyond run, check, demo and version.
func (app *App) extraCommands() []*cobra.Command {
	return []*cobra.Command{app.masterCmd(), app.workerCmd(), app.reportCmd(), app.compareCmd(), app.bundleCmd()}
}
