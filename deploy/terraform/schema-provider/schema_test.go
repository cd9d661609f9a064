package main

import (
	"context"
	"strings"
	"testing"
)

func TestSchemasParseAndBuild(t *testing.T) {
	schemas, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"azurerm", "random", "tls"} {
		if schemas[want] == nil {
			t.Fatalf("no schema for %s", want)
		}
	}
	ctx := context.Background()
	for name, sf := range schemas {
		for rname, r := range sf.Resources {
			if !strings.HasPrefix(rname, name+"_") {
				t.Errorf("%s: resource %s lacks the provider prefix", name, rname)
			}
			s := resourceSchema(r)
			if diags := s.ValidateImplementation(ctx); diags.HasError() {
				t.Errorf("%s: %v", rname, diags)
			}
			if _, ok := s.Attributes["id"]; !ok {
				t.Errorf("%s: no id attribute", rname)
			}
		}
		for dname, d := range sf.DataSources {
			s := dataSchema(d)
			if diags := s.ValidateImplementation(ctx); diags.HasError() {
				t.Errorf("%s: %v", dname, diags)
			}
		}
		if sf.Provider != nil {
			s := providerSchema(sf.Provider)
			if diags := s.ValidateImplementation(ctx); diags.HasError() {
				t.Errorf("%s provider: %v", name, diags)
			}
		}
	}
}

func TestParserRejectsMistakes(t *testing.T) {
	bad := map[string]string{
		"no flags":           "resource x_a\n  attr name string\n",
		"required+computed":  "resource x_a\n  attr name string required computed\n",
		"bad type":           "resource x_a\n  attr name strin required\n",
		"duplicate":          "resource x_a\n  attr name string required\n  attr name string optional\n",
		"bad block":          "resource x_a\n  block b map\n",
		"writeonly computed": "resource x_a\n  attr v string computed writeonly\n",
		"default required":   "resource x_a\n  attr v string required default=x\n",
	}
	for name, text := range bad {
		if _, err := parseSchemaFile(name, text); err == nil {
			t.Errorf("%s: accepted %q", name, text)
		}
	}
}

func TestParseTypes(t *testing.T) {
	for _, s := range []string{"string", "list(string)", "map(list(int))", "set(object(port:int,protocol:string))"} {
		if _, rest, err := parseType(s); err != nil || rest != "" {
			t.Errorf("%s: rest %q err %v", s, rest, err)
		}
	}
}

func TestProviderNameFromBinary(t *testing.T) {
	for in, want := range map[string]string{
		"/x/terraform-provider-azurerm":    "azurerm",
		"terraform-provider-tls_v4.1.0":    "tls",
		"/p/terraform-provider-random.exe": "random",
	} {
		if got := providerNameFromBinary(in); got != want {
			t.Errorf("%s: got %s want %s", in, got, want)
		}
	}
}
