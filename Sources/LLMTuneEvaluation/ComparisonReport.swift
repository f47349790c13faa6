// Side-by-side reports of the same tasks on several models (base vs fine-tuned): a text table with the change
// against the first column, and a self-contained HTML page with one bar per model and metric.
import Foundation

/// One metric of one task across the compared runs.
public struct ComparisonRow: Sendable, Equatable {
    public var task: String
    public var metric: String
    /// One value per run, in `Comparison.labels` order.
    public var values: [Double]
    /// Standard errors where the metric has one.
    public var standardErrors: [Double?]

    public init(task: String, metric: String, values: [Double], standardErrors: [Double?]) {
        self.task = task
        self.metric = metric
        self.values = values
        self.standardErrors = standardErrors
    }

    /// Perplexities and bits per byte improve downwards; everything else upwards.
    public var lowerIsBetter: Bool { metric.contains("perplexity") || metric == "bits_per_byte" }
}

public struct Comparison: Sendable {
    /// Names of the compared runs (e.g. "base", "base+adapter").
    public var labels: [String]
    public var rows: [ComparisonRow]

    public init(labels: [String], rows: [ComparisonRow]) {
        precondition(rows.allSatisfy { $0.values.count == labels.count && $0.standardErrors.count == labels.count },
                     "one value per label")
        self.labels = labels
        self.rows = rows
    }

    /// A fixed-width table: task, metric, each run's value (± stderr), and the change of the last run against the
    /// first (with "better" / "worse" by the metric's direction).
    public func table() -> String {
        func cell(_ v: Double, _ e: Double?) -> String {
            String(format: "%.4f", v) + (e.map { $0.isFinite ? String(format: " ± %.4f", $0) : "" } ?? "")
        }
        var header = ["task", "metric"] + labels
        if labels.count > 1 { header.append("change") }
        var lines: [[String]] = [header]
        for r in rows {
            var line = [r.task, r.metric] + zip(r.values, r.standardErrors).map(cell)
            if labels.count > 1, let first = r.values.first, let last = r.values.last {
                let delta = last - first
                let verdict = delta == 0 ? "same" : ((delta < 0) == r.lowerIsBetter ? "better" : "worse")
                line.append(String(format: "%+.4f ", delta) + verdict)
            }
            lines.append(line)
        }
        let widths = (0..<header.count).map { c in lines.map { $0[c].count }.max()! }
        return lines.map { line in
            line.enumerated().map { c, s in s.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// A self-contained HTML page: per task and metric, one horizontal bar per run, scaled to the row's largest
    /// value, with the value and standard error written next to it.
    public func html(title: String) -> String {
        let colors = ["#8a94a6", "#2f7ed8", "#e4572e", "#29a36a", "#9b59b6"]
        var body = ""
        for r in rows {
            let top = r.values.map { abs($0) }.filter(\.isFinite).max() ?? 0
            body += "<tr><td class=\"t\">\(Comparison.escape(r.task))</td><td class=\"m\">\(Comparison.escape(r.metric))"
            body += r.lowerIsBetter ? " <small>(lower is better)</small>" : ""
            body += "</td><td>"
            for (i, label) in labels.enumerated() {
                let v = r.values[i]
                let width = top > 0 && v.isFinite ? max(0.5, 100 * abs(v) / top) : 0
                let err = r.standardErrors[i].flatMap { $0.isFinite ? String(format: " ± %.4f", $0) : nil } ?? ""
                body += "<div class=\"bar\"><span class=\"l\">\(Comparison.escape(label))</span>"
                body += "<span class=\"b\" style=\"width:\(String(format: "%.1f", width * 3))px;"
                body += "background:\(colors[i % colors.count])\"></span>"
                body += "<span class=\"v\">\(String(format: "%.4f", v))\(err)</span></div>"
            }
            body += "</td></tr>\n"
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Comparison.escape(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
            td{border-bottom:1px solid #ddd;padding:6px 10px;vertical-align:top}
            .bar{display:flex;align-items:center;gap:8px;margin:2px 0}.l{width:140px;color:#444}
            .b{display:inline-block;height:14px}.v{font-variant-numeric:tabular-nums}
            </style></head><body>
            <h1>\(Comparison.escape(title))</h1>
            <table><tr><th>task</th><th>metric</th><th>\(labels.map(Comparison.escape).joined(separator: " / "))</th></tr>
            \(body)</table></body></html>

            """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
