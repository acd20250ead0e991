package rtml.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka Streams peer of bench/stream-throughput.ts: the same `userTransactionFeatures` aggregates over the same
 * input topic, exactly_once_v2, state in RocksDB with a changelog topic, the default commit interval (100 ms under
 * exactly-once), one stream thread. Runs the topology `--runs` times in this JVM, each with a fresh application.id,
 * state dir and output topic, so the first (cold JVM) and later (warm) runs are both visible.
 *
 *   java -Xmx512m -cp <classes>:<libs>/* rtml.bench.StreamsPeer --brokers H:P --input TOPIC --variant dsl|processor
 *        --runs N --id PREFIX --state-dir DIR [--sample user1,user2,...]
 *
 * Per run it prints one line `KSTREAMS {"variant",...,"seconds","cpuSeconds","events","outputRecords","sample":{user: vector}}`.
 * Clock: from streams.start() until the group's committed offsets reach the input's end offsets (polled with an
 * admin client). CPU: this JVM's process CPU time over the same interval (all threads, RocksDB's native code included).
 */
public final class StreamsPeer {
  static final String STORE = "user-state";
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = parse(argv);
    String brokers = required(args, "brokers");
    String input = required(args, "input");
    String variant = args.getOrDefault("variant", "dsl");
    if (!variant.equals("dsl") && !variant.equals("processor")) throw new IllegalArgumentException("--variant must be dsl or processor, got " + variant);
    int runs = Integer.parseInt(args.getOrDefault("runs", "3"));
    String id = required(args, "id");
    Path stateRoot = Path.of(required(args, "state-dir"));
    Set<String> sample = Stream.of(args.getOrDefault("sample", "").split(",")).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      for (int run = 0; run < runs; run++) {
        Map<String, Object> result = runOnce(admin, brokers, input, variant, id + "-" + variant + "-" + run, sample, stateRoot);
        result.put("run", run);
        System.out.println("KSTREAMS " + JSON.writeValueAsString(result));
      }
    }
  }

  static Map<String, Object> runOnce(Admin admin, String brokers, String input, String variant, String appId, Set<String> sample, Path stateRoot) throws Exception {
    Map<TopicPartition, Long> end = offsets(admin, input, OffsetSpec.latest());
    long events = end.values().stream().mapToLong(Long::longValue).sum() - offsets(admin, input, OffsetSpec.earliest()).values().stream().mapToLong(Long::longValue).sum();
    String output = appId + "-out";
    admin.createTopics(List.of(new NewTopic(output, end.size(), (short) 1))).all().get();
    Path stateDir = Files.createDirectories(stateRoot.resolve(appId));
    Topology topology = variant.equals("dsl") ? dslTopology(input, output) : perEventTopology(input, output);
    KafkaStreams streams = new KafkaStreams(topology, streamsConfig(brokers, appId, stateDir));
    AtomicReference<Throwable> failure = new AtomicReference<>();
    streams.setUncaughtExceptionHandler(error -> {
      failure.set(error);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    long cpuStart = processCpuNanos();
    long started = System.nanoTime();
    streams.start();
    while (!committedToEnd(admin, appId, end)) {
      if (failure.get() != null) throw new IllegalStateException("Kafka Streams failed", failure.get());
      Thread.sleep(20);
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    double cpuSeconds = (processCpuNanos() - cpuStart) / 1e9;
    // Leave the group, so it can be deleted with the run's topics.
    streams.close(new KafkaStreams.CloseOptions().timeout(Duration.ofSeconds(60)).leaveGroup(true));
    streams.cleanUp();
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("variant", variant);
    result.put("applicationId", appId);
    result.put("seconds", seconds);
    result.put("cpuSeconds", cpuSeconds);
    result.put("events", events);
    result.putAll(readOutput(brokers, output, sample));
    deleteRunTopics(admin, appId);
    deleteTree(stateDir);
    return result;
  }

  static Properties streamsConfig(String brokers, String appId, Path stateDir) {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1); // ours is one Node event loop
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // Left at their defaults on purpose: commit.interval.ms (100 ms under exactly-once), statestore.cache.max.bytes (10 MiB).
    return props;
  }

  /** DSL: aggregate into a cached RocksDB store; the record cache emits one vector per touched user per commit. */
  static Topology dslTopology(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .flatMapValues(value -> Transaction.parse(value).map(List::of).orElse(List.of()))
        // The producer keys by userId, so grouping by the record key needs no repartition topic.
        .groupByKey(Grouped.keySerde(Serdes.String()))
        .aggregate(UserState::new, (user, tx, state) -> state.apply(tx),
            Materialized.<String, UserState, KeyValueStore<Bytes, byte[]>>as(STORE).withKeySerde(Serdes.String()).withValueSerde(UserState.serde()))
        .toStream()
        .mapValues((user, state) -> state.vectorJson(user, state.latestTime))
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  /** Processor API: the same state in an uncached RocksDB store, one vector per event. */
  static Topology perEventTopology(String input, String output) {
    StreamsBuilder builder = new StreamsBuilder();
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STORE), Serdes.String(), UserState.serde()));
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
        .process(PerEventProcessor::new, STORE)
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
    return builder.build();
  }

  static final class PerEventProcessor implements Processor<String, byte[], String, byte[]> {
    private ProcessorContext<String, byte[]> context;
    private KeyValueStore<String, UserState> store;
    /** Max event time of this task, like the TypeScript task's stream time (vectors are read as of it). */
    private long streamTime = Long.MIN_VALUE;

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
      this.store = context.getStateStore(STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      Optional<Transaction> parsed = Transaction.parse(record.value());
      if (parsed.isEmpty()) return;
      Transaction tx = parsed.get();
      UserState state = Optional.ofNullable(store.get(tx.userId())).orElseGet(UserState::new).apply(tx);
      store.put(tx.userId(), state);
      streamTime = Math.max(streamTime, tx.eventTime());
      context.forward(new Record<>(tx.userId(), state.vectorJson(tx.userId(), streamTime), record.timestamp()));
    }
  }

  static Map<TopicPartition, Long> offsets(Admin admin, String topic, OffsetSpec spec) throws Exception {
    int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < partitions; p++) request.put(new TopicPartition(topic, p), spec);
    return admin.listOffsets(request).all().get().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
  }

  static boolean committedToEnd(Admin admin, String group, Map<TopicPartition, Long> end) throws Exception {
    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    return end.entrySet().stream().allMatch(e -> committed.get(e.getKey()) != null && committed.get(e.getKey()).offset() >= e.getValue());
  }

  /** Reads the run's whole output as a read_committed consumer: record count and the last vector of each sampled user. */
  static Map<String, Object> readOutput(String brokers, String topic, Set<String> sample) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    long records = 0;
    Map<String, Object> vectors = new HashMap<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(info -> new TopicPartition(topic, info.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions); // the last stable offset under read_committed
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          records++;
          if (sample.contains(record.key())) vectors.put(record.key(), JSON.readTree(record.value()));
        }
      }
    } catch (Exception error) {
      throw new IllegalStateException("reading " + topic, error);
    }
    return Map.of("outputRecords", records, "sample", vectors);
  }

  static void deleteRunTopics(Admin admin, String appId) throws Exception {
    List<String> topics = admin.listTopics().names().get().stream().filter(name -> name.startsWith(appId + "-")).toList();
    admin.deleteTopics(topics).all().get();
    // The broker may still count the closed member for a moment; the group is bench litter, not worth failing over.
    for (int attempt = 0; ; attempt++) {
      try {
        admin.deleteConsumerGroups(List.of(appId)).all().get();
        return;
      } catch (ExecutionException error) {
        if (!(error.getCause() instanceof GroupNotEmptyException) || attempt == 50) {
          System.err.println("kafka-streams peer: consumer group " + appId + " left behind: " + error.getCause());
          return;
        }
        Thread.sleep(200);
      }
    }
  }

  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static void deleteTree(Path dir) throws Exception {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(path);
    }
  }

  static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("expected --name value pairs, got " + String.join(" ", argv));
      args.put(argv[i].substring(2), argv[++i]);
    }
    return args;
  }

  static String required(Map<String, String> args, String name) {
    String value = args.get(name);
    if (value == null) throw new IllegalArgumentException("--" + name + " is required");
    return value;
  }
}
