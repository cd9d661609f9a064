package results

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gocloud.dev/blob"
	// The bucket drivers of the default build; s3:// and gs:// come with
	// build tags (drivers_s3.go, drivers_gcs.go).
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

// Bucket is an opened --results-url: the run's outputs go under
// RUN_ID/ in it (after the URL's own ?prefix=).
type Bucket struct {
	b *blob.Bucket
	// URL is the results URL with secrets redacted, for messages.
	URL   string
	RunID string
	// Attempts is how often one file is tried (default 5); Backoff the
	// first wait between attempts, doubled after each (default 1 s).
	Attempts int
	Backoff  time.Duration
	Log      *slog.Logger

	// put uploads one file (uploadFile; tests put a failing one in).
	put func(ctx context.Context, file, key string) error
	// probeOnce is the write check (probe; tests put a refusing one in).
	probeOnce func(ctx context.Context) error
	// secrets are the URL's secret values, scrubbed from driver errors.
	secrets []string
}

// Open opens the bucket at rawURL and checks that the run's folder can be
// written, by writing and deleting a small probe object, so a wrong URL,
// missing container or missing credentials fail before any load is sent.
func Open(ctx context.Context, rawURL, runID string) (*Bucket, error) {
	return OpenWait(ctx, rawURL, runID, ProbeWait{})
}

// ProbeWait bounds how long Open keeps trying the write check while the
// storage refuses permission: on a fresh deployment the role assignment
// that lets the runner's identity write is minutes old and not yet in
// force everywhere (Azure documents up to 10 minutes), and a headless
// master that gives up at once is never run again. Other errors (no such
// container, a bad URL) fail at once.
type ProbeWait struct {
	Max time.Duration // 0: one attempt
	Log *slog.Logger
	// first is the first wait between attempts (default 2 s), doubled up
	// to 30 s; tests shorten it.
	first time.Duration
}

// OpenWait is Open that retries a refused write check for up to w.Max.
func OpenWait(ctx context.Context, rawURL, runID string, w ProbeWait) (*Bucket, error) {
	red := RedactURL(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("--results-url %s: not a URL (want azblob://CONTAINER, s3://BUCKET, gs://BUCKET or file:///PATH)", red)
	}
	if err := checkScheme(u.Scheme); err != nil {
		return nil, fmt.Errorf("--results-url %s: %w", red, err)
	}
	if u.Scheme == "file" {
		// fileblob writes a .attrs file beside every object unless told
		// not to; results are plain files.
		q := u.Query()
		if q.Get("metadata") == "" {
			q.Set("metadata", "skip")
			u.RawQuery = q.Encode()
			rawURL = u.String()
		}
	}
	if err := CheckRunID(runID); err != nil {
		return nil, err
	}
	secrets := URLSecrets(rawURL)
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		// Drivers quote the URL they were given ("open bucket s3://...").
		return nil, fmt.Errorf("--results-url %s: %s", red, RedactSecrets(err.Error(), secrets))
	}
	bk := &Bucket{b: b, URL: red, RunID: runID, secrets: secrets}
	bk.put = bk.uploadFile
	bk.probeOnce = bk.probe
	if err := bk.waitWritable(ctx, w); err != nil {
		b.Close()
		return nil, err
	}
	return bk, nil
}

// waitWritable runs the write check, again with backoff while permission
// is refused and w.Max allows.
func (bk *Bucket) waitWritable(ctx context.Context, w ProbeWait) error {
	deadline := time.Now().Add(w.Max)
	wait := w.first
	if wait <= 0 {
		wait = 2 * time.Second
	}
	for try := 1; ; try++ {
		err := bk.probeOnce(ctx)
		var pe *probeError
		if err == nil || !errors.As(err, &pe) || !pe.denied || time.Now().Add(wait).After(deadline) {
			return err
		}
		if w.Log != nil {
			w.Log.Warn("the results storage refuses the write check; retrying, since a new role assignment takes minutes to apply",
				"url", bk.URL, "attempt", try, "wait", wait, "gives_up_in", time.Until(deadline).Round(time.Second), "err", err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// probeError is a failed write check; denied when the storage refused
// permission (possibly only for now).
type probeError struct {
	msg    string
	denied bool
}

func (e *probeError) Error() string { return e.msg }

func (bk *Bucket) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	key := bk.RunID + "/.stampede-probe"
	// Bucket.Upload rather than WriteAll: azureblob v0.47.0's streaming
	// writer dereferences a nil pipe when the upload fails (as it does for
	// a missing container); its Upload path does not.
	probe := strings.NewReader("stampede checks that results can be written here\n")
	if err := bk.b.Upload(ctx, key, probe, &blob.WriterOptions{ContentType: "text/plain"}); err != nil {
		return &probeError{msg: fmt.Sprintf("--results-url %s: cannot write %s: %s", bk.URL, key, bk.describe(err)), denied: gcerrors.Code(err) == gcerrors.PermissionDenied}
	}
	if err := bk.b.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return &probeError{msg: fmt.Sprintf("--results-url %s: wrote but cannot delete %s: %s", bk.URL, key, bk.describe(err)), denied: gcerrors.Code(err) == gcerrors.PermissionDenied}
	}
	return nil
}

// describe turns a driver error into one line without secrets.
func (bk *Bucket) describe(err error) string {
	msg := RedactSecrets(err.Error(), bk.secrets)
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		msg = "not found (does the container or bucket exist?): " + msg
	case gcerrors.PermissionDenied:
		msg = "permission denied (check the credentials): " + msg
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		// Azure errors run over many lines; the first names the problem.
		msg = msg[:i] + " …"
	}
	return msg
}

// ForRun returns the bucket for another run id (the same open bucket):
// the web UI uploads each test under its own id.
func (bk *Bucket) ForRun(id string) *Bucket {
	c := *bk
	c.RunID = id
	return &c
}

// Key returns the object key of a local file: RUN_ID/BASENAME.
func (bk *Bucket) Key(file string) string { return path.Join(bk.RunID, filepath.Base(file)) }

// Upload copies every file to RUN_ID/ in the bucket, retrying each with
// exponential backoff. It returns the keys written and an error naming
// each file that could not be uploaded (those stay on local disk).
func (bk *Bucket) Upload(ctx context.Context, files []string) ([]string, error) {
	attempts, backoff := bk.Attempts, bk.Backoff
	if attempts <= 0 {
		attempts = 5
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	log := bk.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var keys []string
	var errs []error
	seen := map[string]string{}
	for _, f := range files {
		key := bk.Key(f)
		if prev, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: same name as %s; not uploaded", f, prev))
			continue
		}
		seen[key] = f
		var err error
		wait := backoff
		for try := 1; try <= attempts; try++ {
			if err = bk.put(ctx, f, key); err == nil {
				break
			}
			if errors.Is(err, os.ErrNotExist) || ctx.Err() != nil || try == attempts {
				break
			}
			log.Warn("upload failed, retrying", "file", f, "attempt", try, "wait", wait, "err", err)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			wait *= 2
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
			continue
		}
		keys = append(keys, key)
	}
	return keys, errors.Join(errs...)
}

func (bk *Bucket) uploadFile(ctx context.Context, file, key string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := bk.b.Upload(ctx, key, f, &blob.WriterOptions{ContentType: contentType(file)}); err != nil {
		return errors.New(bk.describe(err))
	}
	return nil
}

func contentType(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json"
	case ".html":
		return "text/html; charset=utf-8"
	case ".log", ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// As exposes the driver's bucket type (e.g. *container.Client for
// azblob), for tests and tools.
func (bk *Bucket) As(i any) bool { return bk.b.As(i) }

// Close releases the bucket.
func (bk *Bucket) Close() error { return bk.b.Close() }
