// Package azuritetest finds the Azurite blob service the tests upload to
// (started by .ci/azurite.sh) and makes containers on it.
package azuritetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// URLs
)

// Azurite's well-known development account (public, documented by
// Microsoft for the emulator; not a secret).
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DefaultEndpoint is where .ci/azurite.sh starts Azurite's blob service.
const DefaultEndpoint = "http://127.0.0.1:10000"

// Endpoint returns Azurite's blob endpoint host:port from
// STAMPEDE_TEST_AZURITE. In CI (CI=true) it falls back to DefaultEndpoint,
// since .ci/azurite.sh may have been run rather than sourced, and fails
// the test when nothing answers there; elsewhere the test is skipped when
// the variable is unset. It also sets the account variables the azblob
// driver reads.
func Endpoint(t *testing.T) string {
	t.Helper()
	endpoint := os.Getenv("STAMPEDE_TEST_AZURITE")
	ci := os.Getenv("CI") == "true"
	if endpoint == "" {
		if !ci {
			t.Skip("STAMPEDE_TEST_AZURITE not set; `source .ci/azurite.sh` starts Azurite (npm package azurite)")
		}
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		t.Fatalf("STAMPEDE_TEST_AZURITE=%q: want http://HOST:PORT", endpoint)
	}
	c, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("Azurite does not answer at %s (%v): run `source .ci/azurite.sh` to install and start it (npm package azurite), or set STAMPEDE_TEST_AZURITE", endpoint, err)
	}
	c.Close()
	t.Setenv("AZURE_STORAGE_ACCOUNT", Account)
	t.Setenv("AZURE_STORAGE_KEY", Key)
	return u.Host
}

// URL returns an azblob:// URL for a new, not yet created container name
// on Azurite; query is appended ("&prefix=x/").
func URL(t *testing.T, query string) (rawURL, name string) {
	t.Helper()
	host := Endpoint(t)
	name = fmt.Sprintf("stampede-test-%08x", rand.Uint32())
	return fmt.Sprintf("azblob://%s?protocol=http&domain=%s&localemu=true%s", name, host, query), name
}

// CreateContainer creates the container of rawURL.
func CreateContainer(t *testing.T, rawURL string) {
	t.Helper()
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var c *container.Client
	if !b.As(&c) {
		t.Fatal("not an azblob bucket")
	}
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("creating container on Azurite: %v", err)
	}
}
