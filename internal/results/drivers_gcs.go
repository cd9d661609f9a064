//go:build gcs || allclouds

package results

// gs:// results URLs; left out of the default build for its size.
import _ "gocloud.dev/blob/gcsblob"
