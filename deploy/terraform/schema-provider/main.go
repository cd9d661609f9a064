// Command schema-provider is a schema-only Terraform provider used to
// validate and plan the Stampede Terraform modules offline. It declares the
// resources, data sources and arguments of the real providers (transcribed
// from their documentation, see schemas/*.schema) and nothing else: it plans
// like the real provider does (computed attributes unknown, defaults filled
// in) and refuses to apply.
//
// One binary serves every provider; it picks the one to serve from the name
// it was installed under (terraform-provider-azurerm, -random, -tls) or from
// -provider NAME.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
)

//go:embed schemas/*.schema
var schemaFS embed.FS

func loadSchemas() (map[string]*schemaFile, error) {
	entries, err := schemaFS.ReadDir("schemas")
	if err != nil {
		return nil, err
	}
	out := map[string]*schemaFile{}
	for _, e := range entries {
		b, err := schemaFS.ReadFile("schemas/" + e.Name())
		if err != nil {
			return nil, err
		}
		sf, err := parseSchemaFile(e.Name(), string(b))
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(e.Name(), ".schema")] = sf
	}
	return out, nil
}

func providerNameFromBinary(arg0 string) string {
	base := filepath.Base(arg0)
	base = strings.TrimSuffix(base, ".exe")
	base = strings.TrimPrefix(base, "terraform-provider-")
	if i := strings.Index(base, "_v"); i >= 0 {
		base = base[:i]
	}
	return base
}

func main() {
	name := flag.String("provider", "", "provider to serve (default: from the binary's name)")
	list := flag.Bool("list", false, "print the declared resources and exit")
	flag.Parse()

	schemas, err := loadSchemas()
	if err != nil {
		log.Fatal(err)
	}
	if *list {
		names := make([]string, 0, len(schemas))
		for n := range schemas {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, o := range schemas[n].Order {
				fmt.Printf("%s: %s\n", n, o)
			}
		}
		return
	}
	if *name == "" {
		*name = providerNameFromBinary(os.Args[0])
	}
	sf, ok := schemas[*name]
	if !ok {
		log.Fatalf("no schema for provider %q (installed as %s)", *name, os.Args[0])
	}
	err = providerserver.Serve(context.Background(), newProvider(*name, sf), providerserver.ServeOpts{
		Address: "registry.terraform.io/hashicorp/" + *name,
	})
	if err != nil {
		log.Fatal(err)
	}
}
