// Apache Curator's service discovery as a Java service uses it (Spring Cloud Zookeeper's payload
// type), driven by sdctl's interop tests:
//   CuratorPeer register CONNECT BASEPATH NAME ID ADDRESS PORT [KEY=VALUE...]
//       registers, prints "registered", then reads stdin: "unregister" unregisters and prints
//       "unregistered"; the end of stdin closes the client and exits.
//   CuratorPeer several CONNECT BASEPATH NAME ID,ADDRESS,PORT[,KEY=VALUE...]...
//       registers each instance as register does (one JVM for several), prints "registered",
//       and holds them until stdin ends.
//   CuratorPeer watch CONNECT BASEPATH NAME
//       a ServiceCache: prints the instances as one JSON line at start and after each change,
//       until stdin ends.
//   CuratorPeer query CONNECT BASEPATH NAME
//       prints queryForInstances as one JSON line and exits.
//   CuratorPeer bulk CONNECT BASEPATH NAME COUNT
//       registers COUNT instances (id-N, 10.X.Y.Z:8080, a zone in their metadata), prints
//       "registered COUNT", and holds them until stdin ends (for the figures).
// A line of instances: [{"id":..,"address":..,"port":..,"sslPort":..,"serviceType":..,
// "metadata":{..}}, ...] sorted by id.
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.curator.x.discovery.details.ServiceCacheListener;
import org.springframework.cloud.zookeeper.discovery.ZookeeperInstance;

public class CuratorPeer {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(args[1]).sessionTimeoutMs(4000).connectionTimeoutMs(10000)
            .retryPolicy(new ExponentialBackoffRetry(100, 20)).build();
        client.start();
        if (!client.blockUntilConnected(30, java.util.concurrent.TimeUnit.SECONDS)) {
            System.err.println("cannot connect to " + args[1]);
            System.exit(1);
        }
        ServiceDiscovery<ZookeeperInstance> discovery = ServiceDiscoveryBuilder.builder(ZookeeperInstance.class)
            .client(client).basePath(args[2])
            .serializer(new JsonInstanceSerializer<>(ZookeeperInstance.class)).build();
        discovery.start();
        BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        switch (mode) {
            case "register": {
                Map<String, String> metadata = new LinkedHashMap<>();
                for (int index = 7; index < args.length; index++) {
                    String[] pair = args[index].split("=", 2);
                    metadata.put(pair[0], pair.length > 1 ? pair[1] : "");
                }
                ServiceInstance<ZookeeperInstance> instance = ServiceInstance.<ZookeeperInstance>builder()
                    .name(args[3]).id(args[4]).address(args[5]).port(Integer.parseInt(args[6]))
                    .payload(new ZookeeperInstance(args[4], args[3], metadata)).build();
                discovery.registerService(instance);
                say("registered");
                String line;
                while ((line = input.readLine()) != null) {
                    if (line.equals("unregister")) {
                        discovery.unregisterService(instance);
                        say("unregistered");
                    }
                }
                break;
            }
            case "several": {
                for (int index = 4; index < args.length; index++) {
                    String[] fields = args[index].split(",");
                    Map<String, String> metadata = new LinkedHashMap<>();
                    for (int field = 3; field < fields.length; field++) {
                        String[] pair = fields[field].split("=", 2);
                        metadata.put(pair[0], pair.length > 1 ? pair[1] : "");
                    }
                    discovery.registerService(ServiceInstance.<ZookeeperInstance>builder()
                        .name(args[3]).id(fields[0]).address(fields[1]).port(Integer.parseInt(fields[2]))
                        .payload(new ZookeeperInstance(fields[0], args[3], metadata)).build());
                }
                say("registered");
                while (input.readLine() != null) {}
                break;
            }
            case "watch": {
                ServiceCache<ZookeeperInstance> cache = discovery.serviceCacheBuilder().name(args[3]).build();
                cache.addListener(new ServiceCacheListener() {
                    @Override public void cacheChanged() { print(cache.getInstances()); }
                    @Override public void stateChanged(CuratorFramework c, ConnectionState state) {}
                });
                cache.start();
                print(cache.getInstances());
                while (input.readLine() != null) {}
                cache.close();
                break;
            }
            case "bulk": {
                int count = Integer.parseInt(args[4]);
                for (int index = 0; index < count; index++) {
                    Map<String, String> metadata = new LinkedHashMap<>();
                    metadata.put("zone", "zone-" + (index % 3));
                    String address = "10." + (index >> 16 & 255) + "." + (index >> 8 & 255) + "." + (index & 255);
                    discovery.registerService(ServiceInstance.<ZookeeperInstance>builder()
                        .name(args[3]).id("id-" + index).address(address).port(8080)
                        .payload(new ZookeeperInstance("id-" + index, args[3], metadata)).build());
                }
                say("registered " + count);
                while (input.readLine() != null) {}
                break;
            }
            case "query":
                print(discovery.queryForInstances(args[3]));
                break;
            default:
                System.err.println("unknown mode " + mode);
                System.exit(2);
        }
        // Closing unregisters through the server; when the test has stopped the server already,
        // Curator would retry for minutes with its threads keeping the JVM alive (and could reach
        // another test's server on a reused port). Five seconds, then the JVM ends regardless.
        Thread watchdog = new Thread(() -> {
            try { Thread.sleep(5000); } catch (InterruptedException e) {}
            Runtime.getRuntime().halt(0);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        discovery.close();
        client.close();
        System.exit(0);
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static void print(Collection<ServiceInstance<ZookeeperInstance>> instances) {
        List<Map<String, Object>> list = new ArrayList<>();
        List<ServiceInstance<ZookeeperInstance>> sorted = new ArrayList<>(instances);
        sorted.sort(Comparator.comparing(ServiceInstance::getId));
        for (ServiceInstance<ZookeeperInstance> instance : sorted) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("id", instance.getId());
            entry.put("name", instance.getName());
            entry.put("address", instance.getAddress());
            entry.put("port", instance.getPort());
            entry.put("sslPort", instance.getSslPort());
            entry.put("serviceType", instance.getServiceType().toString());
            ZookeeperInstance payload = instance.getPayload();
            entry.put("metadata", payload == null ? null : payload.getMetadata());
            list.add(entry);
        }
        try {
            say(new ObjectMapper().writeValueAsString(list));
        } catch (Exception error) {
            throw new RuntimeException(error);
        }
    }
}
