package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stampede-load/stampede/internal/compare"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/report"
	"github.com/stampede-load/stampede/internal/results"
)

// loadRun reads the results of one run for compare and --baseline: a
// JSON summary, the CSV files of a run by their prefix (or its
// PREFIX_stats.csv), a local folder holding either, or a results URL
// naming a run's folder in the storage (results.Fetch).
func loadRun(ctx context.Context, src string) (*compare.Run, error) {
	if src == "" {
		return nil, errors.New("empty source")
	}
	if strings.Contains(src, "://") {
		dir, err := os.MkdirTemp("", "stampede-fetch-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if _, err := results.Fetch(ctx, src, dir); err != nil {
			return nil, err
		}
		r, err := loadLocal(dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", results.RedactURL(src), err)
		}
		r.Label = results.RedactURL(src)
		return r, nil
	}
	return loadLocal(src)
}

func loadLocal(src string) (*compare.Run, error) {
	fi, err := os.Stat(src)
	switch {
	case err == nil && fi.IsDir():
		return loadDir(src)
	case err == nil:
		if strings.HasSuffix(src, output.SuffixStats) {
			return loadCSV(strings.TrimSuffix(src, output.SuffixStats), src)
		}
		doc, err := output.ReadJSON(src)
		if err != nil {
			return nil, err
		}
		return fromDocument(doc, src)
	}
	if _, e := os.Stat(src + output.SuffixStats); e == nil {
		return loadCSV(src, src)
	}
	return nil, fmt.Errorf("%s: no such file, folder or CSV prefix (no %s)", src, src+output.SuffixStats)
}

// loadDir picks the run's JSON summary in a folder, or else its CSV files.
func loadDir(dir string) (*compare.Run, error) {
	jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range jsons {
		if doc, err := output.ReadJSON(f); err == nil && doc.Stats != nil {
			return fromDocument(doc, f)
		}
	}
	csvs, _ := filepath.Glob(filepath.Join(dir, "*"+output.SuffixStats))
	switch len(csvs) {
	case 0:
		return nil, fmt.Errorf("%s: no JSON summary and no *%s", dir, output.SuffixStats)
	case 1:
		return loadCSV(strings.TrimSuffix(csvs[0], output.SuffixStats), dir)
	}
	return nil, fmt.Errorf("%s: several runs' CSV files (%d *%s); name one prefix", dir, len(csvs), output.SuffixStats)
}

func fromDocument(doc *output.Document, label string) (*compare.Run, error) {
	if doc.Stats == nil {
		return nil, fmt.Errorf("%s: the summary has no statistics", label)
	}
	return &compare.Run{Label: label, Summary: doc.Stats, Histograms: doc.Stats.Total.Histogram != nil}, nil
}

func loadCSV(prefix, label string) (*compare.Run, error) {
	d, err := report.FromCSV(prefix)
	if err != nil {
		return nil, err
	}
	return &compare.Run{Label: label, Summary: d.Doc.Stats}, nil
}
