package output

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// File name suffixes of the CSV outputs, appended to the --csv prefix.
const (
	SuffixStats      = "_stats.csv"
	SuffixHistory    = "_stats_history.csv"
	SuffixFailures   = "_failures.csv"
	SuffixExceptions = "_exceptions.csv"
	SuffixRegions    = "_regions.csv"
)

// CSVFiles is the set of CSV files of one run (--csv PREFIX). The history
// file is appended to while the test runs; the other files are written
// whole, each replaced atomically, by Checkpoint and Finish. It is safe for
// concurrent use.
type CSVFiles struct {
	mu          sync.Mutex
	prefix      string
	fullHistory bool
	history     *os.File
	bw          *bufio.Writer
	closed      bool
}

// OpenCSV creates the directories of prefix and PREFIX_stats_history.csv,
// and writes the history header at once.
func OpenCSV(prefix string, fullHistory bool) (*CSVFiles, error) {
	if prefix == "" {
		return nil, errors.New("csv: empty file prefix")
	}
	if err := os.MkdirAll(filepath.Dir(prefix+SuffixStats), 0o755); err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	f, err := os.Create(prefix + SuffixHistory)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	c := &CSVFiles{prefix: prefix, fullHistory: fullHistory, history: f, bw: bufio.NewWriter(f)}
	if err := WriteHistoryHeader(c.bw); err != nil {
		f.Close()
		return nil, fmt.Errorf("csv: writing %s: %w", f.Name(), err)
	}
	if err := c.bw.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("csv: writing %s: %w", f.Name(), err)
	}
	return c, nil
}

// Prefix returns the file prefix the files were opened with.
func (c *CSVFiles) Prefix() string { return c.prefix }

// Paths returns the files a Finish with s writes, history first.
func (c *CSVFiles) Paths(s *stats.Summary) []string {
	p := []string{c.prefix + SuffixHistory, c.prefix + SuffixStats, c.prefix + SuffixFailures, c.prefix + SuffixExceptions}
	if s != nil && len(s.Regions) > 0 {
		p = append(p, c.prefix+SuffixRegions)
	}
	if HasServiceTimes(s) {
		p = append(p, c.prefix+SuffixServiceStats)
	}
	return p
}

// History appends the rows for now to _stats_history.csv and flushes them
// to the file, so a killed process leaves only whole rows behind.
func (c *CSVFiles) History(now time.Time, users int, s *stats.Summary) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("csv: history written after Finish")
	}
	if err := WriteHistoryRows(c.bw, now, users, s, c.fullHistory); err != nil {
		return fmt.Errorf("csv: writing %s: %w", c.history.Name(), err)
	}
	if err := c.bw.Flush(); err != nil {
		return fmt.Errorf("csv: writing %s: %w", c.history.Name(), err)
	}
	return nil
}

// Checkpoint (re)writes _stats.csv, _failures.csv, _exceptions.csv and,
// when s has regions, _regions.csv from s. Each file is replaced
// atomically, so a reader never sees half of one. Locust rewrites these
// files every second; callers may do the same or only call Finish. A
// checkpoint after Finish does nothing: the final files stay.
func (c *CSVFiles) Checkpoint(s *stats.Summary) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	return c.writeAll(s)
}

func (c *CSVFiles) writeAll(s *stats.Summary) error {
	type file struct {
		suffix string
		write  func(io.Writer, *stats.Summary) error
	}
	files := []file{
		{SuffixStats, WriteStatsCSV},
		{SuffixFailures, WriteFailuresCSV},
		{SuffixExceptions, WriteExceptionsCSV},
	}
	if len(s.Regions) > 0 {
		files = append(files, file{SuffixRegions, WriteRegionsCSV})
	}
	if HasServiceTimes(s) {
		files = append(files, file{SuffixServiceStats, WriteServiceStatsCSV})
	}
	var errs []error
	for _, f := range files {
		path := c.prefix + f.suffix
		err := writeFileAtomic(path, func(w io.Writer) error { return f.write(w, s) })
		if err != nil {
			errs = append(errs, fmt.Errorf("csv: writing %s: %w", path, err))
		}
	}
	return errors.Join(errs...)
}

// Finish writes the final _stats.csv, _failures.csv, _exceptions.csv and
// (with regions) _regions.csv, and closes the history file. Calling it
// again only rewrites the final files.
func (c *CSVFiles) Finish(s *stats.Summary) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.writeAll(s)
	return errors.Join(err, c.closeLocked())
}

// Close closes the history file without writing the final files. It is a
// no-op after Finish.
func (c *CSVFiles) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeLocked()
}

func (c *CSVFiles) closeLocked() error {
	if c.closed {
		return nil
	}
	c.closed = true
	ferr := c.bw.Flush()
	cerr := c.history.Close()
	if err := errors.Join(ferr, cerr); err != nil {
		return fmt.Errorf("csv: closing %s: %w", c.history.Name(), err)
	}
	return nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory and renames it into place.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
