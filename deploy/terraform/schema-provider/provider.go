package main

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

type schemaProvider struct {
	name string
	sf   *schemaFile
}

func newProvider(name string, sf *schemaFile) func() provider.Provider {
	return func() provider.Provider { return &schemaProvider{name: name, sf: sf} }
}

func (p *schemaProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = p.name
	resp.Version = "schema-only"
}

func (p *schemaProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	if p.sf.Provider != nil {
		resp.Schema = providerSchema(p.sf.Provider)
	}
}

// Configure accepts any configuration that passed schema validation: there is
// no cloud to talk to.
func (p *schemaProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (p *schemaProvider) Resources(context.Context) []func() resource.Resource {
	var out []func() resource.Resource
	for _, spec := range p.sf.Resources {
		out = append(out, func() resource.Resource { return &schemaResource{spec: spec} })
	}
	return out
}

func (p *schemaProvider) DataSources(context.Context) []func() datasource.DataSource {
	var out []func() datasource.DataSource
	for _, spec := range p.sf.DataSources {
		out = append(out, func() datasource.DataSource { return &schemaDataSource{spec: spec} })
	}
	return out
}

type schemaResource struct{ spec *blockSpec }

func (r *schemaResource) Metadata(_ context.Context, _ resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = r.spec.Name
}

func (r *schemaResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = resourceSchema(r.spec)
}

const applyRefused = "This is the schema-only provider used to validate and plan offline; it cannot create, change or delete real infrastructure. Use the real provider (terraform init without the dev_overrides CLI configuration)."

func (r *schemaResource) Create(_ context.Context, _ resource.CreateRequest, resp *resource.CreateResponse) {
	resp.Diagnostics.AddError("schema-only provider", applyRefused)
}

func (r *schemaResource) Read(_ context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	resp.State = req.State
}

func (r *schemaResource) Update(_ context.Context, _ resource.UpdateRequest, resp *resource.UpdateResponse) {
	resp.Diagnostics.AddError("schema-only provider", applyRefused)
}

func (r *schemaResource) Delete(_ context.Context, _ resource.DeleteRequest, resp *resource.DeleteResponse) {
	resp.Diagnostics.AddError("schema-only provider", applyRefused)
}

type schemaDataSource struct{ spec *blockSpec }

func (d *schemaDataSource) Metadata(_ context.Context, _ datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = d.spec.Name
}

func (d *schemaDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = dataSchema(d.spec)
}

// Read answers with the configuration plus fixed placeholder values for the
// computed attributes (an all-zero UUID for strings), so that plans that
// depend on a data source can be made without a cloud.
func (d *schemaDataSource) Read(_ context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	raw := req.Config.Raw
	vals := map[string]tftypes.Value{}
	if err := raw.As(&vals); err != nil {
		resp.Diagnostics.AddError("reading configuration", err.Error())
		return
	}
	for _, a := range d.spec.Attrs {
		v, ok := vals[a.Name]
		if !ok || !a.Computed || !v.IsNull() {
			continue
		}
		vals[a.Name] = placeholder(v.Type())
	}
	resp.State.Raw = tftypes.NewValue(raw.Type(), vals)
}

func placeholder(t tftypes.Type) tftypes.Value {
	switch {
	case t.Is(tftypes.String):
		return tftypes.NewValue(t, "00000000-0000-0000-0000-000000000000")
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(t, false)
	case t.Is(tftypes.Number):
		return tftypes.NewValue(t, 0)
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		return tftypes.NewValue(t, []tftypes.Value{})
	case t.Is(tftypes.Map{}):
		return tftypes.NewValue(t, map[string]tftypes.Value{})
	}
	return tftypes.NewValue(t, nil)
}
