//go:build !s3 && !gcs && !allclouds

package results

import (
	"context"
	"strings"
	"testing"
)

// The default build has no S3 or GCS driver: such a URL must fail before
// any load with a message that says which build has it.
func TestOpenDefaultBuildRefusesOptionalClouds(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"s3://bucket?region=eu-west-1", "s3:// needs a binary built with -tags s3 (or -tags allclouds)"},
		{"gs://bucket", "gs:// needs a binary built with -tags gcs (or -tags allclouds)"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := Open(context.Background(), tc.url, "run-1")
			if err == nil {
				t.Fatalf("Open(%s) = nil error, want the build-tag hint", tc.url)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "docs/reports.md") {
				t.Fatalf("Open(%s) = %q, want it to contain %q and point at docs/reports.md", tc.url, err, tc.want)
			}
		})
	}
}

func TestCheckScheme(t *testing.T) {
	for _, tc := range []struct {
		scheme, want string
	}{
		{"azblob", ""},
		{"file", ""},
		{"s3", "-tags s3"},
		{"gs", "-tags gcs"},
		{"ftp", `unsupported scheme "ftp"`},
	} {
		err := checkScheme(tc.scheme)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkScheme(%q) = %v, want %q", tc.scheme, err, tc.want)
		}
	}
}
