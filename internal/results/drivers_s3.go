//go:build s3 || allclouds

package results

// s3:// results URLs; left out of the default build for its size.
import _ "gocloud.dev/blob/s3blob"
