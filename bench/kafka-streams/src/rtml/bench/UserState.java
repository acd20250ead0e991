package rtml.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Per-user state of the bench's `userTransactionFeatures` (packages/features/src/example.ts), hand-written:
 * lifetime accumulators (amount sum and count for the mean, min, the 5 latest merchants, the latest amount) plus
 * the events the longest sliding window (7 d) can still see, sorted by (eventTime, eventId). Sliding values are
 * folded from those events on read, in that order, as the TypeScript engine does, so sums agree bit for bit.
 */
public final class UserState {
  static final long HOUR = 3_600_000L;
  static final long DAY = 24 * HOUR;
  static final long LONGEST_WINDOW = 7 * DAY;
  static final int LAST_K = 5;
  private static final byte FORMAT = 1;
  private static final JsonFactory JSON = new JsonFactory();

  long latestTime = Long.MIN_VALUE;
  double amountSum;
  long amountCount;
  double amountMin = Double.NaN;
  /** lastK('merchantId', 5): newest first by (time, id). */
  final List<Transaction> lastMerchants = new ArrayList<>(LAST_K);
  /** last('amount'): the newest event with a non-null amount. */
  Transaction lastAmount;
  final List<Transaction> retained = new ArrayList<>();

  public UserState apply(Transaction tx) {
    latestTime = Math.max(latestTime, tx.eventTime());
    retained.add(insertionPoint(tx), tx);
    while (!retained.isEmpty() && retained.get(0).eventTime() <= latestTime - LONGEST_WINDOW) retained.remove(0);
    if (!Double.isNaN(tx.amount())) {
      amountSum += tx.amount();
      amountCount++;
      amountMin = Double.isNaN(amountMin) ? tx.amount() : Math.min(amountMin, tx.amount());
      if (lastAmount == null || compare(lastAmount, tx) < 0) lastAmount = tx;
    }
    int at = lastMerchants.size();
    while (at > 0 && compare(lastMerchants.get(at - 1), tx) < 0) at--;
    if (at < LAST_K) {
      lastMerchants.add(at, tx);
      if (lastMerchants.size() > LAST_K) lastMerchants.remove(LAST_K);
    }
    return this;
  }

  /** Events mostly arrive in order: search from the end. */
  private int insertionPoint(Transaction tx) {
    int at = retained.size();
    while (at > 0 && compare(retained.get(at - 1), tx) > 0) at--;
    return at;
  }

  /** The engine's one total order: (eventTime, eventId), ids by Unicode code point (packages/features/src/order.ts). */
  static int compare(Transaction a, Transaction b) {
    if (a.eventTime() != b.eventTime()) return Long.compare(a.eventTime(), b.eventTime());
    String x = a.eventId();
    String y = b.eventId();
    for (int i = 0, n = Math.min(x.length(), y.length()); i < n; i++) {
      char p = x.charAt(i);
      char q = y.charAt(i);
      if (p != q) return codePointRank(p) - codePointRank(q);
    }
    return x.length() - y.length();
  }

  /** Surrogates (code points >= U+10000) sort after U+E000..U+FFFF in code point order. */
  private static int codePointRank(char unit) {
    if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
    if (unit >= 0xe000) return unit - 0x800;
    return unit;
  }

  /** The feature vector as of `asOf`, in the JSON shape of the TypeScript engine's FeatureVector. */
  public byte[] vectorJson(String userId, long asOf) {
    long count1h = 0;
    double sum24h = 0;
    long amounts24h = 0;
    double max24h = Double.NaN;
    HashSet<String> merchants7d = new HashSet<>();
    for (Transaction tx : retained) {
      long t = tx.eventTime();
      if (t > asOf) break;
      if (t > asOf - HOUR) count1h++;
      if (t > asOf - DAY && !Double.isNaN(tx.amount())) {
        sum24h += tx.amount();
        amounts24h++;
        max24h = Double.isNaN(max24h) ? tx.amount() : Math.max(max24h, tx.amount());
      }
      if (t > asOf - LONGEST_WINDOW) merchants7d.add(tx.merchantId());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator json = JSON.createGenerator(out)) {
      json.writeStartObject();
      json.writeStringField("featureSet", "user_txn");
      json.writeStringField("entityId", userId);
      json.writeNumberField("eventTime", asOf);
      json.writeObjectFieldStart("values");
      json.writeNumberField("txn_count_1h", count1h);
      json.writeNumberField("amount_sum_24h", amounts24h == 0 ? 0 : sum24h); // its default is 0
      writeNumberOrNull(json, "amount_max_24h", max24h);
      json.writeNumberField("distinct_merchants_7d", merchants7d.size());
      writeNumberOrNull(json, "amount_mean_lifetime", amountCount == 0 ? Double.NaN : amountSum / amountCount);
      writeNumberOrNull(json, "amount_min_lifetime", amountMin);
      if (lastMerchants.isEmpty()) json.writeNullField("last_merchants");
      else {
        json.writeArrayFieldStart("last_merchants");
        for (Transaction tx : lastMerchants) json.writeString(tx.merchantId());
        json.writeEndArray();
      }
      writeNumberOrNull(json, "last_amount", lastAmount == null ? Double.NaN : lastAmount.amount());
      json.writeEndObject();
      json.writeEndObject();
    } catch (IOException impossible) {
      throw new UncheckedIOException(impossible);
    }
    return out.toByteArray();
  }

  private static void writeNumberOrNull(JsonGenerator json, String name, double value) throws IOException {
    if (Double.isNaN(value)) json.writeNullField(name);
    else json.writeNumberField(name, value);
  }

  /** Binary state for RocksDB and its changelog (what a JVM team would write; JSON would only cost more). */
  public static Serde<UserState> serde() {
    Serializer<UserState> serializer = (topic, state) -> state == null ? null : state.toBytes();
    Deserializer<UserState> deserializer = (topic, bytes) -> bytes == null ? null : fromBytes(bytes);
    return Serdes.serdeFrom(serializer, deserializer);
  }

  /** Three event lists (lastK, last, retained), each event as time, amount, then id and merchant as length-prefixed UTF-8. */
  byte[] toBytes() {
    List<List<Transaction>> groups = List.of(lastMerchants, lastAmount == null ? List.of() : List.of(lastAmount), retained);
    List<byte[]> strings = new ArrayList<>();
    int size = 1 + 8 + 8 + 8 + 8 + 4 * groups.size();
    for (List<Transaction> events : groups) {
      for (Transaction tx : events) {
        byte[] id = tx.eventId().getBytes(StandardCharsets.UTF_8);
        byte[] merchant = tx.merchantId().getBytes(StandardCharsets.UTF_8);
        strings.add(id);
        strings.add(merchant);
        size += 8 + 8 + 4 + id.length + 4 + merchant.length;
      }
    }
    ByteBuffer out = ByteBuffer.allocate(size); // sized exactly: the strings are encoded once, above
    out.put(FORMAT).putLong(latestTime).putDouble(amountSum).putLong(amountCount).putDouble(amountMin);
    int next = 0;
    for (List<Transaction> events : groups) {
      out.putInt(events.size());
      for (Transaction tx : events) {
        out.putLong(tx.eventTime()).putDouble(tx.amount());
        for (int k = 0; k < 2; k++, next++) out.putInt(strings.get(next).length).put(strings.get(next));
      }
    }
    return out.array();
  }

  static UserState fromBytes(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    byte format = in.get();
    if (format != FORMAT) throw new IllegalStateException("unknown UserState format " + format);
    UserState state = new UserState();
    state.latestTime = in.getLong();
    state.amountSum = in.getDouble();
    state.amountCount = in.getLong();
    state.amountMin = in.getDouble();
    readEvents(in, state.lastMerchants);
    List<Transaction> last = new ArrayList<>(1);
    readEvents(in, last);
    state.lastAmount = last.isEmpty() ? null : last.get(0);
    readEvents(in, state.retained);
    return state;
  }

  /** userId is the record key, so it is not repeated per event. */
  private static void readEvents(ByteBuffer in, List<Transaction> into) {
    for (int i = in.getInt(); i > 0; i--) {
      long time = in.getLong();
      double amount = in.getDouble();
      String id = readString(in);
      into.add(new Transaction(id, time, null, amount, readString(in)));
    }
  }

  private static String readString(ByteBuffer in) {
    int length = in.getInt();
    String value = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return value;
  }
}
