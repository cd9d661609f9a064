package script

import (
	"fmt"

	"github.com/stampede-load/stampede/internal/httpclient"
)

// setCookiesAndTLS applies cookies=, verify= and cert=.
func (v *VU) setCookiesAndTLS(fn string, req *httpclient.Request, a *reqArgs) error {
	for _, k := range []int{kwCookies, kwVerify, kwCert} {
		if a.kw[k] != nil {
			return fmt.Errorf("%s: %s= is not supported yet", fn, httpKeywords[k])
		}
	}
	return nil
}
