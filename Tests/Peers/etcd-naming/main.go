// etcd's own gRPC naming (clientv3/naming/endpoints, what grpc-go's etcd resolver reads), from
// Debian's etcd sources, driven by sdctl's interop tests:
//
//	etcd-naming add ENDPOINT TARGET ADDR [KEY=VALUE...]
//	    AddEndpoint(TARGET/ADDR) under a 10 s lease kept alive; prints "added", then reads
//	    stdin: "delete" deletes it and prints "deleted"; the end of stdin exits.
//	etcd-naming watch ENDPOINT TARGET
//	    NewWatchChannel: prints the endpoints as one JSON line at start and after each update,
//	    until stdin ends.
//	etcd-naming list ENDPOINT TARGET
//	    List: prints the endpoints as one JSON line and exits.
//
// A line of endpoints: [{"key":..,"addr":..,"metadata":..}, ...] sorted by key.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/naming/endpoints"
)

var out sync.Mutex

func say(line string) {
	out.Lock()
	defer out.Unlock()
	fmt.Println(line)
}

func print(current endpoints.Key2EndpointMap) {
	type entry struct {
		Key      string      `json:"key"`
		Addr     string      `json:"addr"`
		Metadata interface{} `json:"metadata"`
	}
	list := []entry{}
	for key, endpoint := range current {
		list = append(list, entry{key, endpoint.Addr, endpoint.Metadata})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	text, _ := json.Marshal(list)
	say(string(text))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func main() {
	mode, endpoint, target := os.Args[1], os.Args[2], os.Args[3]
	client, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 10 * time.Second})
	if err != nil {
		fail(err)
	}
	defer client.Close()
	manager, err := endpoints.NewManager(client, target)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	input := bufio.NewScanner(os.Stdin)
	switch mode {
	case "add":
		addr := os.Args[4]
		metadata := map[string]string{}
		for _, pair := range os.Args[5:] {
			parts := strings.SplitN(pair, "=", 2)
			metadata[parts[0]] = parts[len(parts)-1]
		}
		lease, err := client.Grant(ctx, 10)
		if err != nil {
			fail(err)
		}
		alive, err := client.KeepAlive(ctx, lease.ID)
		if err != nil {
			fail(err)
		}
		go func() {
			for range alive {
			}
		}()
		key := target + "/" + addr
		if err := manager.AddEndpoint(ctx, key, endpoints.Endpoint{Addr: addr, Metadata: metadata},
			clientv3.WithLease(lease.ID)); err != nil {
			fail(err)
		}
		say("added")
		for input.Scan() {
			if input.Text() == "delete" {
				if err := manager.DeleteEndpoint(ctx, key); err != nil {
					fail(err)
				}
				say("deleted")
			}
		}
	case "watch":
		updates, err := manager.NewWatchChannel(ctx)
		if err != nil {
			fail(err)
		}
		current := endpoints.Key2EndpointMap{}
		print(current)
		go func() {
			for batch := range updates {
				for _, update := range batch {
					switch update.Op {
					case endpoints.Add:
						current[update.Key] = update.Endpoint
					case endpoints.Delete:
						delete(current, update.Key)
					}
				}
				print(current)
			}
		}()
		for input.Scan() {
		}
	case "list":
		current, err := manager.List(ctx)
		if err != nil {
			fail(err)
		}
		print(current)
	default:
		fail(fmt.Errorf("unknown mode %s", mode))
	}
}
