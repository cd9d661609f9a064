package script

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"go.starlark.net/starlark"
)

const filesUsage = `files must be a dict {field: content}, {field: (filename, content)} or {field: (filename, content, content_type[, headers])}`

// encodeMultipart builds a multipart/form-data body as requests does:
// first one part per data field, then one per file. files maps a field
// name to its content, or to (filename, content[, content_type[,
// headers]]); content is a string or bytes. A bare content takes the field
// name as its filename, as requests does.
func encodeMultipart(files, data starlark.Value) (body []byte, contentType string, err error) {
	fd, ok := files.(*starlark.Dict)
	if !ok {
		return nil, "", errors.New(filesUsage)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if data != nil {
		dd, ok := data.(*starlark.Dict)
		if !ok {
			return nil, "", fmt.Errorf("with files=, data must be a dict of form fields, got %s", data.Type())
		}
		var werr error
		if err := eachField(dd, func(k, v string) {
			if werr == nil {
				werr = w.WriteField(k, v)
			}
		}); err != nil {
			return nil, "", fmt.Errorf("data: %w", err)
		}
		if werr != nil {
			return nil, "", werr
		}
	}
	for _, kv := range fd.Items() {
		field, ok := starlark.AsString(kv[0])
		if !ok {
			return nil, "", fmt.Errorf("files: field names must be strings, got %s", kv[0].Type())
		}
		p, err := filePart(field, kv[1])
		if err != nil {
			return nil, "", fmt.Errorf("files[%q]: %w", field, err)
		}
		pw, err := w.CreatePart(p.header)
		if err != nil {
			return nil, "", err
		}
		if _, err := pw.Write(p.content); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

type part struct {
	header  textproto.MIMEHeader
	content []byte
}

// filePart reads one value of files=.
func filePart(field string, v starlark.Value) (part, error) {
	filename, hasName := field, true
	var content, ctype, extra starlark.Value = v, nil, nil
	if t, ok := v.(starlark.Tuple); ok {
		if len(t) < 2 || len(t) > 4 {
			return part{}, errors.New(filesUsage)
		}
		content = t[1]
		if t[0] == starlark.None {
			hasName = false // a plain form field, as requests sends it
		} else if filename, ok = starlark.AsString(t[0]); !ok {
			return part{}, fmt.Errorf("filename must be a string or None, got %s", t[0].Type())
		}
		if len(t) > 2 && t[2] != starlark.None {
			ctype = t[2]
		}
		if len(t) > 3 && t[3] != starlark.None {
			extra = t[3]
		}
	}
	p := part{header: textproto.MIMEHeader{}}
	switch c := content.(type) {
	case starlark.String:
		p.content = []byte(string(c))
	case starlark.Bytes:
		p.content = []byte(string(c))
	default:
		return part{}, fmt.Errorf("content must be a string or bytes, got %s (%s)", content.Type(), filesUsage)
	}
	cd := `form-data; name="` + quoteParam(field) + `"`
	if hasName {
		cd += `; filename="` + quoteParam(filename) + `"`
	}
	p.header.Set("Content-Disposition", cd)
	if ctype != nil {
		s, ok := starlark.AsString(ctype)
		if !ok {
			return part{}, fmt.Errorf("content type must be a string, got %s", ctype.Type())
		}
		if _, _, err := headerPair("content type", starlark.Tuple{starlark.String("Content-Type"), ctype}); err != nil {
			return part{}, err
		}
		p.header.Set("Content-Type", s)
	}
	if extra != nil {
		d, ok := extra.(*starlark.Dict)
		if !ok {
			return part{}, fmt.Errorf("part headers must be a dict, got %s", extra.Type())
		}
		for _, kv := range d.Items() {
			k, val, err := headerPair("part headers", kv)
			if err != nil {
				return part{}, err
			}
			p.header.Set(k, val)
		}
	}
	return p, nil
}

// quoteParam escapes a Content-Disposition parameter as Go's multipart
// writer does for quotes and backslashes, and as browsers do for line
// breaks, which would otherwise end the header.
var paramEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "%0D", "\n", "%0A")

func quoteParam(s string) string { return paramEscaper.Replace(s) }
