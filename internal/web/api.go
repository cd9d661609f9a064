package web

import (
	"net/http"

	"github.com/stampede-load/stampede/internal/output"
)

// writeJSON encodes before it answers, so a value that cannot be encoded
// gets a 500 with a reason instead of a 200 with an empty body; a NaN
// or an infinity costs only itself (output.MarshalJSON).
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _, err := output.MarshalJSON(v, "", true)
	if err != nil {
		code = http.StatusInternalServerError
		b, _, _ = output.MarshalJSON(apiError{Error: "encoding the answer: " + err.Error(), Message: "encoding the answer failed"}, "", true)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// apiError is the body of every 4xx/5xx answer of the API. success and
// message keep Locust's clients working; field names the bad input.
type apiError struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, field, msg string) {
	writeJSON(w, code, apiError{Error: msg, Message: msg, Field: field})
}
