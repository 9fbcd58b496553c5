// One etcd call at a time with etcd's own Go client (Debian's clientv3), the same loops as the
// Etcd* benchmarks of DiscoveryBenchmarks: Range of one key, Put, Delete of a key that exists,
// and a watch event (Put, then the watcher of its prefix receives it). Prints the p50 and p99
// of each in microseconds, and the process's CPU time (user and system, getrusage) per call,
// so that `compare` and `etcd-calls-cpu` can set them beside ours (EtcdCalls).
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
)

// cpu is the process's user and system time so far.
func cpu() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		panic(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

var lastCPU = cpu()

// report prints the samples' p50 and p99 and the CPU time per call since the last report.
func report(name string, samples []time.Duration) {
	now := cpu()
	used := now - lastCPU
	lastCPU = now
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	n := len(samples)
	fmt.Printf("etcd-go %-10s p50 %8.1f us   p99 %8.1f us   cpu %6.1f us/call   (%d calls)\n", name,
		float64(samples[n/2].Nanoseconds())/1e3, float64(samples[n*99/100].Nanoseconds())/1e3,
		float64(used.Nanoseconds())/1e3/float64(n), n)
}

func main() {
	ep := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 3 * time.Second})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key := "/bench-go/calls/key"
	if _, err := cli.Put(ctx, key, "127.0.0.1:8080"); err != nil {
		panic(err)
	}
	lastCPU = cpu()
	timed := func(body func()) []time.Duration {
		samples := make([]time.Duration, n)
		for i := range samples {
			t0 := time.Now()
			body()
			samples[i] = time.Since(t0)
		}
		return samples
	}
	report("Range", timed(func() {
		if _, err := cli.Get(ctx, key); err != nil {
			panic(err)
		}
	}))
	report("Put", timed(func() {
		if _, err := cli.Put(ctx, key, "127.0.0.1:8080"); err != nil {
			panic(err)
		}
	}))
	deletes := make([]time.Duration, n)
	for i := range deletes {
		if _, err := cli.Put(ctx, key, "127.0.0.1:8080"); err != nil {
			panic(err)
		}
		t0 := time.Now()
		if _, err := cli.Delete(ctx, key); err != nil {
			panic(err)
		}
		deletes[i] = time.Since(t0)
	}
	report("Put+Delete", deletes) // the CPU figure counts the Put before each Delete too
	wc := cli.Watch(ctx, "/bench-go/watch/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	<-wc
	lastCPU = cpu()
	report("WatchEvent", timed(func() {
		if _, err := cli.Put(ctx, "/bench-go/watch/key", "127.0.0.1:8080"); err != nil {
			panic(err)
		}
		<-wc
	}))
}
