package dev.flightdeck.api.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Any single change to any field of any entry of a chain is detected, and names that entry. */
class AuditChainPropertyTest {

  @Provide
  Arbitrary<AuditEvent> events() {
    Arbitrary<String> text = Arbitraries.strings().ofMaxLength(12);
    return Combinators.combine(text, text, text, text.optional(), text.optional(), text)
        .as(AuditEvent::new);
  }

  private static List<AuditEntry> chain(List<AuditEvent> events) {
    List<AuditEntry> out = new ArrayList<>();
    String prev = AuditChain.GENESIS;
    long seq = 1;
    for (AuditEvent e : events) {
      Instant t = Instant.ofEpochMilli(1_700_000_000_000L + seq);
      String h = AuditChain.hash(prev, seq, t, e);
      out.add(new AuditEntry(seq++, t, e, prev, h));
      prev = h;
    }
    return out;
  }

  private static VerifyReport verify(List<AuditEntry> entries) {
    AuditVerifier v = AuditVerifier.create(List.of(), java.util.Map.of(), Optional.empty());
    entries.forEach(v::accept);
    return v.finish();
  }

  @Property(tries = 500)
  void anUntouchedChainVerifies(@ForAll @Size(min = 1, max = 30) List<@net.jqwik.api.From("events") AuditEvent> events) {
    assertThat(verify(chain(events)).ok()).isTrue();
  }

  @Property(tries = 1000)
  void anySingleFieldChangeIsDetectedAtThatEntry(
      @ForAll @Size(min = 1, max = 30) List<@net.jqwik.api.From("events") AuditEvent> events,
      @ForAll @IntRange(min = 0, max = 29) int which, @ForAll @IntRange(min = 0, max = 7) int field,
      @ForAll @IntRange(min = 1, max = 1000) int salt) {
    List<AuditEntry> entries = new ArrayList<>(chain(events));
    int i = which % entries.size();
    AuditEntry e = entries.get(i);
    AuditEvent ev = e.event();
    String x = "~" + salt;
    AuditEntry changed = switch (field) {
      case 0 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal() + x, ev.action(), ev.resource(), ev.before(), ev.after(), ev.details()), e.prevHash(), e.hash());
      case 1 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal(), ev.action() + x, ev.resource(), ev.before(), ev.after(), ev.details()), e.prevHash(), e.hash());
      case 2 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal(), ev.action(), ev.resource() + x, ev.before(), ev.after(), ev.details()), e.prevHash(), e.hash());
      case 3 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal(), ev.action(), ev.resource(), Optional.of(ev.before().orElse("") + x), ev.after(), ev.details()), e.prevHash(), e.hash());
      case 4 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal(), ev.action(), ev.resource(), ev.before(), Optional.of(ev.after().orElse("") + x), ev.details()), e.prevHash(), e.hash());
      case 5 -> new AuditEntry(e.seq(), e.time(), new AuditEvent(ev.principal(), ev.action(), ev.resource(), ev.before(), ev.after(), ev.details() + x), e.prevHash(), e.hash());
      case 6 -> new AuditEntry(e.seq(), e.time().plusMillis(salt), ev, e.prevHash(), e.hash());
      default -> new AuditEntry(e.seq(), e.time(), ev, e.prevHash(), flip(e.hash(), salt));
    };
    entries.set(i, changed);
    VerifyReport r = verify(entries);
    assertThat(r.ok()).isFalse();
    assertThat(r.firstBad().orElseThrow().seq()).isEqualTo(e.seq());
  }

  private static String flip(String hex, int salt) {
    int pos = salt % hex.length();
    char c = hex.charAt(pos) == '0' ? '1' : '0';
    return hex.substring(0, pos) + c + hex.substring(pos + 1);
  }
}
