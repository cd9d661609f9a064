// Package load writes Stampede load tests in Go: user classes whose tasks
// are Go functions, run by the same engine, statistics, command line, web
// UI and cluster as Starlark scripts.
//
// A user class is a Class[T], T being the state of one virtual user.
// Each user gets a fresh T, runs OnStart, then tasks picked by weight
// with Wait in between, and OnStop when it stops. Its *User makes HTTP
// requests that are recorded exactly as the script API's u.http calls:
// under (method, name), name being the path unless Name gives one, a
// failure when the request failed or the status is 400 or more, unless
// the task calls Response.Success or Response.Failure before it returns
// (the responses of a task are recorded when it returns).
//
// Main turns a list of classes into a program with every command and
// flag of the stampede binary:
//
//	func main() {
//		load.Main(load.Class[*Shopper]{
//			Name: "Shopper", Wait: load.Between(time.Second, 3*time.Second),
//			New:   func() *Shopper { return &Shopper{} },
//			Tasks: []load.Task[*Shopper]{{Name: "browse", Weight: 3, Fn: (*Shopper).Browse}},
//		})
//	}
//
// `prog run --headless -u 100 -t 1m --host https://shop.example` runs it;
// `prog run -f test.star ...` runs the script's classes beside the Go
// ones; `prog master` and `prog worker` run it distributed (a master
// refuses workers built with other Go classes). See docs/go-users.md.
//
// The package is versioned with Stampede's releases: requiring vX.Y.Z
// gives that release's engine, command line and cluster protocol (see
// docs/go-users.md for the version a program reports).
package load
