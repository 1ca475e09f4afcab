package dev.flightdeck.eval.report;

import java.io.StringWriter;
import java.util.Locale;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * JUnit XML for CI systems: one test case per eval case (failed when its verdict fails, with the
 * first failing check as the message) plus one for the gate, with the statistics as properties.
 */
public final class JunitXml {

  private JunitXml() {}

  /** The report as JUnit XML. */
  public static String render(EvalReport r) {
    StringWriter out = new StringWriter();
    try {
      XMLStreamWriter w = XMLOutputFactory.newFactory().createXMLStreamWriter(out);
      w.writeStartDocument("UTF-8", "1.0");
      w.writeCharacters("\n");
      long failures = r.cases().stream().filter(c -> !c.passed()).count() + (r.gate().passed() ? 0 : 1);
      w.writeStartElement("testsuite");
      w.writeAttribute("name", clean(r.suite()));
      w.writeAttribute("tests", String.valueOf(r.cases().size() + 1));
      w.writeAttribute("failures", String.valueOf(failures));
      w.writeAttribute("errors", "0");
      w.writeAttribute("time", String.format(Locale.ROOT, "%.3f", r.tookMs() / 1000.0));
      w.writeAttribute("timestamp", r.startedAt().toString());
      w.writeStartElement("properties");
      property(w, "target", r.target());
      property(w, "pass1", Fmt.p(r.summary().pass1()));
      property(w, "pass1.ci95.low", Fmt.p(r.summary().clusteredCi().low()));
      property(w, "pass1.ci95.high", Fmt.p(r.summary().clusteredCi().high()));
      property(w, "runs", String.valueOf(r.calls().runs()));
      w.writeEndElement();
      for (EvalReport.CaseReport c : r.cases()) {
        w.writeStartElement("testcase");
        w.writeAttribute("classname", clean(r.suite()));
        w.writeAttribute("name", clean(c.name()));
        long ms = c.results().stream().mapToLong(RunRecord::latencyMs).sum();
        w.writeAttribute("time", String.format(Locale.ROOT, "%.3f", ms / 1000.0));
        if (!c.passed()) {
          w.writeStartElement("failure");
          w.writeAttribute("message", clean(c.passes() + "/" + c.runs() + " runs passed ("
              + Fmt.pct(c.passRate()) + ", needs " + Fmt.pct(r.settings().caseThreshold()) + ")"));
          w.writeCharacters(clean(TextSummary.firstFailure(c).orElse("no run passed")));
          w.writeEndElement();
        }
        w.writeStartElement("system-out");
        w.writeCharacters(clean("pass rate " + Fmt.p(c.passRate()) + " (95% Wilson " + Fmt.p(c.interval().low()) + "–"
            + Fmt.p(c.interval().high()) + ")" + (c.flaky() ? ", flaky" : "")));
        w.writeEndElement();
        w.writeEndElement();
      }
      w.writeStartElement("testcase");
      w.writeAttribute("classname", clean(r.suite()));
      w.writeAttribute("name", "gate");
      if (!r.gate().passed()) {
        w.writeStartElement("failure");
        w.writeAttribute("message", "eval gate failed");
        StringBuilder sb = new StringBuilder();
        r.gate().checks().forEach(g -> sb.append(g.passed() ? "ok " : "failed ").append(g.name()).append(": ")
            .append(g.detail()).append('\n'));
        w.writeCharacters(clean(sb.toString()));
        w.writeEndElement();
      }
      w.writeEndElement();
      w.writeEndElement();
      w.writeEndDocument();
      w.close();
    } catch (XMLStreamException e) {
      throw new IllegalStateException("cannot write JUnit XML", e);
    }
    return out + "\n";
  }

  private static void property(XMLStreamWriter w, String name, String value) throws XMLStreamException {
    w.writeEmptyElement("property");
    w.writeAttribute("name", name);
    w.writeAttribute("value", clean(value));
  }

  /** Drops characters XML 1.0 cannot hold (control characters, lone surrogates). */
  static String clean(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c == '\t' || c == '\n' || c == '\r' || c >= 0x20 && c <= 0xD7FF || c >= 0xE000 && c <= 0xFFFD;
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        sb.append(c).append(s.charAt(++i));
        continue;
      }
      sb.append(ok ? c : '\uFFFD');
    }
    return sb.toString();
  }
}
