package results

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
)

// Bounds of Fetch: a run's folder holds a handful of result files.
const (
	maxFetchFiles = 64
	maxFetchBytes = 512 << 20
)

// Fetch copies the result files (.json and .csv) of one run's folder into
// dir and returns their local paths. rawURL names the folder the way
// --results-url names the bucket, followed by the run id:
// azblob://CONTAINER/RUN_ID, s3://BUCKET/RUN_ID, gs://BUCKET/RUN_ID, or
// file:///PATH/RUN_ID (there the path is the folder itself). A ?prefix=
// in the URL comes before RUN_ID, as for --results-url. Nothing is
// written to the bucket.
func Fetch(ctx context.Context, rawURL, dir string) ([]string, error) {
	red := RedactURL(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("%s: not a URL (want azblob://CONTAINER/RUN_ID, s3://BUCKET/RUN_ID, gs://BUCKET/RUN_ID or file:///PATH/RUN_ID)", red)
	}
	folder := ""
	switch u.Scheme {
	case "file":
		q := u.Query()
		q.Set("metadata", "skip")
		u.RawQuery = q.Encode()
	case "azblob", "s3", "gs":
		folder = strings.Trim(u.Path, "/")
		u.Path = ""
	default:
		return nil, fmt.Errorf("%s: unsupported scheme %q (want azblob, s3, gs or file)", red, u.Scheme)
	}
	secrets := URLSecrets(rawURL)
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %s", red, RedactSecrets(err.Error(), secrets))
	}
	defer b.Close()
	bk := &Bucket{b: b, URL: red, secrets: secrets}
	prefix := ""
	if folder != "" {
		prefix = folder + "/"
	}
	it := b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	var files []string
	var total int64
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: listing: %s", red, bk.describe(err))
		}
		name := path.Base(obj.Key)
		ext := strings.ToLower(path.Ext(name))
		if obj.IsDir || (ext != ".json" && ext != ".csv") {
			continue
		}
		if len(files) == maxFetchFiles {
			return nil, fmt.Errorf("%s: more than %d result files; name one run's folder", red, maxFetchFiles)
		}
		if total += obj.Size; total > maxFetchBytes {
			return nil, fmt.Errorf("%s: result files larger than %d MiB in all", red, maxFetchBytes>>20)
		}
		local := filepath.Join(dir, name)
		if err := bk.download(ctx, obj.Key, local); err != nil {
			return nil, err
		}
		files = append(files, local)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no result files (.json or .csv) in %q", red, prefix)
	}
	return files, nil
}

func (bk *Bucket) download(ctx context.Context, key, local string) error {
	r, err := bk.b.NewReader(ctx, key, nil)
	if err != nil {
		return fmt.Errorf("%s: reading %s: %s", bk.URL, key, bk.describe(err))
	}
	defer r.Close()
	f, err := os.Create(local)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.LimitReader(r, maxFetchBytes)); err != nil {
		f.Close()
		return fmt.Errorf("%s: reading %s: %s", bk.URL, key, bk.describe(err))
	}
	return f.Close()
}
