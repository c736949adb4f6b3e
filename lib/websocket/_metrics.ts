/**
 * Prometheus text exposition format (version 0.0.4): a pure renderer, used
 * by `EvrmoreWebSocketServer` for `GET /metrics`.
 *
 * @module
 */

/** The `Content-Type` of the text exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One sample of a metric family: its labels (none for most) and value. */
export interface MetricSample {
  /** Label names and values; names must match `[a-zA-Z_][a-zA-Z0-9_]*`. */
  labels?: Readonly<Record<string, string>>;
  /** The value; `NaN` and infinities are written as Prometheus spells them. */
  value: number;
}

/** A metric family: `# HELP`, `# TYPE` and its samples. */
export interface MetricFamily {
  /** The metric name; must match `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  /** One line of help text (backslashes and newlines are escaped). */
  help: string;
  /** `counter` or `gauge`. */
  type: "counter" | "gauge";
  /** The samples; a family without any still gets its HELP and TYPE lines. */
  samples: readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a `# HELP` text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(
    /\n/g,
    "\\n",
  );
}

/** Writes a sample value: integers plainly, `NaN`, `+Inf`, `-Inf`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return Object.is(value, -0) ? "0" : String(value);
}

/**
 * Renders metric families in the text exposition format, one line per
 * sample, ending with a line feed.
 *
 * @throws {TypeError} For an invalid metric or label name, a repeated
 * family name, or a value that is not a number.
 */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) {
      throw new TypeError(
        `Cannot render metrics: invalid metric name ${
          JSON.stringify(family.name)
        }`,
      );
    }
    if (seen.has(family.name)) {
      throw new TypeError(
        `Cannot render metrics: metric ${family.name} appears twice`,
      );
    }
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      if (typeof sample.value !== "number") {
        throw new TypeError(
          `Cannot render metrics: ${family.name} has a non-numeric value`,
        );
      }
      lines.push(
        `${family.name}${labelText(family.name, sample.labels)} ${
          formatValue(sample.value)
        }`,
      );
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function labelText(
  metric: string,
  labels: Readonly<Record<string, string>> | undefined,
): string {
  if (labels === undefined) return "";
  const parts: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new TypeError(
        `Cannot render metrics: invalid label name ${
          JSON.stringify(name)
        } on ${metric}`,
      );
    }
    parts.push(`${name}="${escapeLabelValue(String(value))}"`);
  }
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}
