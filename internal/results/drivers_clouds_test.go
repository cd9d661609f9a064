//go:build (s3 && gcs) || allclouds

package results

import (
	"context"
	"path/filepath"
	"testing"

	"gocloud.dev/blob"
)

// With the tags, s3:// and gs:// pass the scheme check and their drivers
// open a bucket. Opening makes no request; the environment below keeps the
// SDKs from looking for credentials on disk or on a metadata server.
func TestOptionalCloudDriversOpen(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1")
	for _, u := range []string{"s3://bucket?region=eu-west-1", "gs://bucket"} {
		t.Run(u, func(t *testing.T) {
			scheme := u[:2]
			if err := checkScheme(scheme); err != nil {
				t.Fatalf("checkScheme(%q) = %v, want nil in this build", scheme, err)
			}
			b, err := blob.OpenBucket(context.Background(), u)
			if err != nil {
				t.Fatalf("OpenBucket(%s): %v", u, err)
			}
			b.Close()
		})
	}
}
