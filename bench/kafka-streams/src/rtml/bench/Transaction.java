package rtml.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.OffsetDateTime;
import java.util.Optional;

/**
 * One event of the bench's `transaction` source (packages/features/src/example.ts), checked like its zod schema:
 * non-empty eventId and userId, eventTime as integer epoch ms or ISO-8601 with an offset, amount a number or null
 * (NaN here), merchantId a string.
 */
public record Transaction(String eventId, long eventTime, String userId, double amount, String merchantId) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Empty for anything the schema rejects: the peer drops it (it has no dead-letter topic). */
  public static Optional<Transaction> parse(byte[] value) {
    try {
      JsonNode node = JSON.readTree(value);
      if (node == null || !node.isObject()) return Optional.empty();
      String eventId = nonEmptyText(node.get("eventId"));
      String userId = nonEmptyText(node.get("userId"));
      JsonNode merchant = node.get("merchantId");
      JsonNode amount = node.get("amount");
      Long time = eventTime(node.get("eventTime"));
      if (eventId == null || userId == null || time == null || merchant == null || !merchant.isTextual()) return Optional.empty();
      if (amount == null || !(amount.isNull() || amount.isNumber())) return Optional.empty();
      return Optional.of(new Transaction(eventId, time, userId, amount.isNull() ? Double.NaN : amount.doubleValue(), merchant.textValue()));
    } catch (Exception malformed) {
      return Optional.empty();
    }
  }

  private static String nonEmptyText(JsonNode node) {
    return node != null && node.isTextual() && !node.textValue().isEmpty() ? node.textValue() : null;
  }

  private static Long eventTime(JsonNode node) {
    if (node == null) return null;
    if (node.isIntegralNumber()) return node.longValue();
    if (node.isTextual()) return OffsetDateTime.parse(node.textValue()).toInstant().toEpochMilli();
    return null;
  }
}
