// What the etcd registrar must do, timed with etcd's own Go client: go-kit's etcdv3 layout
// (Grant, then Put with the lease) -> seen by a watcher, and Delete -> seen, then Revoke.
// sdctl's registrar deletes only while the key is under its lease (a transaction comparing
// the key's lease, so that someone else's registration under the same id is never removed):
// every round also times that guarded delete -> seen, on a second registration.
// The anchor (../../../../shared/anchors/etcd-floor) grants before it starts its clock; this
// one does not, so it measures the same work `sdctl bench propagation` measures.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	ep, prefix := os.Args[1], os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 3 * time.Second})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	wc := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	time.Sleep(200 * time.Millisecond)
	up := make([]float64, n)
	down := make([]float64, n)
	guarded := make([]float64, n)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%sinst-%d", prefix, i)
		t0 := time.Now()
		lease, err := cli.Grant(ctx, 10)
		if err != nil {
			panic(err)
		}
		if _, err := cli.Put(ctx, key, "127.0.0.1:8080", clientv3.WithLease(lease.ID)); err != nil {
			panic(err)
		}
		<-wc
		up[i] = time.Since(t0).Seconds()
		t0 = time.Now()
		if _, err := cli.Delete(ctx, key); err != nil {
			panic(err)
		}
		<-wc
		down[i] = time.Since(t0).Seconds()
		cli.Revoke(ctx, lease.ID)

		lease, err = cli.Grant(ctx, 10)
		if err != nil {
			panic(err)
		}
		if _, err := cli.Put(ctx, key, "127.0.0.1:8080", clientv3.WithLease(lease.ID)); err != nil {
			panic(err)
		}
		<-wc
		t0 = time.Now()
		ours := clientv3.Compare(clientv3.LeaseValue(key), "=", lease.ID)
		if _, err := cli.Txn(ctx).If(ours).Then(clientv3.OpDelete(key)).Commit(); err != nil {
			panic(err)
		}
		<-wc
		guarded[i] = time.Since(t0).Seconds()
		cli.Revoke(ctx, lease.ID)
	}
	sort.Float64s(up)
	sort.Float64s(down)
	sort.Float64s(guarded)
	fmt.Printf("etcd-go grant+put->seen p50 %.3f ms p99 %.3f ms\n", up[n/2]*1e3, up[n*99/100]*1e3)
	fmt.Printf("etcd-go delete->seen    p50 %.3f ms p99 %.3f ms\n", down[n/2]*1e3, down[n*99/100]*1e3)
	fmt.Printf("etcd-go guarded delete->seen p50 %.3f ms p99 %.3f ms\n", guarded[n/2]*1e3, guarded[n*99/100]*1e3)
}
