package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	pschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func attrType(t typeSpec) attr.Type {
	switch t.Kind {
	case "string":
		return types.StringType
	case "bool":
		return types.BoolType
	case "int":
		return types.Int64Type
	case "float":
		return types.Float64Type
	case "number":
		return types.NumberType
	case "list":
		return types.ListType{ElemType: attrType(*t.Elem)}
	case "set":
		return types.SetType{ElemType: attrType(*t.Elem)}
	case "map":
		return types.MapType{ElemType: attrType(*t.Elem)}
	case "object":
		m := map[string]attr.Type{}
		for _, f := range t.Fields {
			m[f.Name] = attrType(f.Type)
		}
		return types.ObjectType{AttrTypes: m}
	}
	panic("unknown type " + t.Kind)
}

// ---- resources ----

func resourceAttr(a *attrSpec, inSet bool) rschema.Attribute {
	var sv []validator.String
	if len(a.OneOf) > 0 {
		sv = append(sv, oneOf(a.OneOf))
	}
	def := a.Default
	if inSet {
		def = nil // the framework cannot default inside sets; the value stays unknown
	}
	switch a.Type.Kind {
	case "string":
		x := rschema.StringAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly, Validators: sv}
		if def != nil {
			x.Default = stringdefault.StaticString(*def)
		}
		return x
	case "bool":
		x := rschema.BoolAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
		if def != nil {
			v, _ := strconv.ParseBool(*def)
			x.Default = booldefault.StaticBool(v)
		}
		return x
	case "int":
		x := rschema.Int64Attribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
		if def != nil {
			v, _ := strconv.ParseInt(*def, 10, 64)
			x.Default = int64default.StaticInt64(v)
		}
		return x
	case "float":
		x := rschema.Float64Attribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
		if def != nil {
			v, _ := strconv.ParseFloat(*def, 64)
			x.Default = float64default.StaticFloat64(v)
		}
		return x
	case "number":
		return rschema.NumberAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
	case "list":
		return rschema.ListAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
	case "set":
		return rschema.SetAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "map":
		return rschema.MapAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
	case "object":
		return rschema.ObjectAttribute{AttributeTypes: attrType(a.Type).(types.ObjectType).AttrTypes, Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, WriteOnly: a.WriteOnly}
	}
	panic("unknown type " + a.Type.Kind)
}

func resourceBody(b *blockSpec, inSet bool) (map[string]rschema.Attribute, map[string]rschema.Block) {
	attrs := map[string]rschema.Attribute{}
	blocks := map[string]rschema.Block{}
	for _, a := range b.Attrs {
		attrs[a.Name] = resourceAttr(a, inSet)
	}
	for _, nb := range b.Blocks {
		if nb.Nesting == "set" {
			at, bl := resourceBody(nb, true)
			blocks[nb.Name] = rschema.SetNestedBlock{NestedObject: rschema.NestedBlockObject{Attributes: at, Blocks: bl}, Validators: []validator.Set{sizeBetween(nb.Name, nb.Min, nb.Max)}}
		} else {
			at, bl := resourceBody(nb, inSet)
			blocks[nb.Name] = rschema.ListNestedBlock{NestedObject: rschema.NestedBlockObject{Attributes: at, Blocks: bl}, Validators: []validator.List{sizeBetween(nb.Name, nb.Min, nb.Max)}}
		}
	}
	return attrs, blocks
}

func resourceSchema(b *blockSpec) rschema.Schema {
	at, bl := resourceBody(b, false)
	return rschema.Schema{Attributes: at, Blocks: bl, Description: "schema-only transcription of " + b.Name}
}

// ---- data sources ----

func dataAttr(a *attrSpec) dsschema.Attribute {
	var sv []validator.String
	if len(a.OneOf) > 0 {
		sv = append(sv, oneOf(a.OneOf))
	}
	switch a.Type.Kind {
	case "string":
		return dsschema.StringAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive, Validators: sv}
	case "bool":
		return dsschema.BoolAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "int":
		return dsschema.Int64Attribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "float":
		return dsschema.Float64Attribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "number":
		return dsschema.NumberAttribute{Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "list":
		return dsschema.ListAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "set":
		return dsschema.SetAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "map":
		return dsschema.MapAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	case "object":
		return dsschema.ObjectAttribute{AttributeTypes: attrType(a.Type).(types.ObjectType).AttrTypes, Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive}
	}
	panic("unknown type " + a.Type.Kind)
}

func dataSchema(b *blockSpec) dsschema.Schema {
	s := dsschema.Schema{Attributes: map[string]dsschema.Attribute{}, Description: "schema-only transcription of " + b.Name}
	for _, a := range b.Attrs {
		s.Attributes[a.Name] = dataAttr(a)
	}
	if len(b.Blocks) > 0 {
		panic("data source blocks are not supported by this schema format: " + b.Name)
	}
	return s
}

// ---- provider ----

func providerSchema(b *blockSpec) pschema.Schema {
	at, bl := providerBody(b)
	return pschema.Schema{Attributes: at, Blocks: bl}
}

func providerBody(b *blockSpec) (map[string]pschema.Attribute, map[string]pschema.Block) {
	attrs := map[string]pschema.Attribute{}
	blocks := map[string]pschema.Block{}
	for _, a := range b.Attrs {
		if a.Computed {
			panic("provider attributes cannot be computed: " + a.Name)
		}
		switch a.Type.Kind {
		case "string":
			attrs[a.Name] = pschema.StringAttribute{Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		case "bool":
			attrs[a.Name] = pschema.BoolAttribute{Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		case "int":
			attrs[a.Name] = pschema.Int64Attribute{Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		case "list":
			attrs[a.Name] = pschema.ListAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		case "set":
			attrs[a.Name] = pschema.SetAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		case "map":
			attrs[a.Name] = pschema.MapAttribute{ElementType: attrType(*a.Type.Elem), Required: a.Required, Optional: a.Optional, Sensitive: a.Sensitive}
		default:
			panic("unsupported provider attribute type " + a.Type.Kind)
		}
	}
	for _, nb := range b.Blocks {
		at, bl := providerBody(nb)
		if nb.Nesting == "set" {
			blocks[nb.Name] = pschema.SetNestedBlock{NestedObject: pschema.NestedBlockObject{Attributes: at, Blocks: bl}, Validators: []validator.Set{sizeBetween(nb.Name, nb.Min, nb.Max)}}
		} else {
			blocks[nb.Name] = pschema.ListNestedBlock{NestedObject: pschema.NestedBlockObject{Attributes: at, Blocks: bl}, Validators: []validator.List{sizeBetween(nb.Name, nb.Min, nb.Max)}}
		}
	}
	return attrs, blocks
}

// ---- validators ----

type oneOfValidator []string

func oneOf(v []string) oneOfValidator { return oneOfValidator(v) }

func (v oneOfValidator) Description(context.Context) string {
	return fmt.Sprintf("value must be one of %q", []string(v))
}
func (v oneOfValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v oneOfValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	for _, ok := range v {
		if s == ok {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid value", fmt.Sprintf("%q: %s", s, v.Description(ctx)))
}

type sizeValidator struct {
	name     string
	min, max int
}

func sizeBetween(name string, min, max int) sizeValidator { return sizeValidator{name, min, max} }

func (v sizeValidator) Description(context.Context) string {
	if v.max > 0 {
		return fmt.Sprintf("between %d and %d %s blocks", v.min, v.max, v.name)
	}
	return fmt.Sprintf("at least %d %s blocks", v.min, v.name)
}
func (v sizeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v sizeValidator) check(ctx context.Context, n int, null, unknown bool) (string, bool) {
	if unknown {
		return "", true
	}
	if null {
		n = 0
	}
	if n < v.min || (v.max > 0 && n > v.max) {
		return fmt.Sprintf("found %d, need %s", n, v.Description(ctx)), false
	}
	return "", true
}
func (v sizeValidator) ValidateList(ctx context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if msg, ok := v.check(ctx, len(req.ConfigValue.Elements()), req.ConfigValue.IsNull(), req.ConfigValue.IsUnknown()); !ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Wrong number of blocks", msg)
	}
}
func (v sizeValidator) ValidateSet(ctx context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if msg, ok := v.check(ctx, len(req.ConfigValue.Elements()), req.ConfigValue.IsNull(), req.ConfigValue.IsUnknown()); !ok {
		resp.Diagnostics.AddAttributeError(req.Path, "Wrong number of blocks", msg)
	}
}
