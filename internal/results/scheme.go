package results

import (
	"fmt"

	"gocloud.dev/blob"
)

// checkScheme says whether --results-url's scheme has a driver in this
// binary, and if it is a known one left out, which build adds it.
func checkScheme(scheme string) error {
	switch scheme {
	case "azblob", "file", "s3", "gs":
	default:
		return fmt.Errorf("unsupported scheme %q (want azblob, s3, gs or file)", scheme)
	}
	if blob.DefaultURLMux().ValidBucketScheme(scheme) {
		return nil
	}
	// The S3 and GCS SDKs were most of the binary's size, so the default
	// build leaves them out.
	tag := "s3"
	if scheme == "gs" {
		tag = "gcs"
	}
	return fmt.Errorf("%s:// needs a binary built with -tags %s (or -tags allclouds), such as the release's stampede-allclouds archives: see docs/reports.md, \"Results upload\"", scheme, tag)
}
