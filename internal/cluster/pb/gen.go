// Package pb is the generated code of the master-worker protocol
// (cluster.proto). Regenerate with `go generate ./internal/cluster/pb`
// (needs protoc, protoc-gen-go v1.36.12 and protoc-gen-go-grpc).
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative cluster.proto
