// report.html: a self-contained page (inline SVG and CSS, nothing fetched) with the loss curves (raw and
// smoothed training loss, validation loss), the learning rate and the throughput against the step, and a
// summary table of the arguments and results. Smoothing is TensorBoard's debiased exponential moving average.
import Foundation

/// Builds the HTML report of a run.
public enum TrainingReport {
    /// The page for `result` trained with `arguments`; `title` heads it (e.g. the model and data names).
    public static func html(result: TrainingResult, arguments: TrainingArguments, title: String = "Training report")
        -> String {
        let h = result.history
        let x = h.steps.map(Double.init)
        var charts: [String] = []
        var lossSeries = [
            Series(name: "train loss", color: "#9ab8e0", points: Array(zip(x, h.losses))),
            Series(name: "train loss (smoothed)", color: "#1f5fbf", points: Array(zip(x, smoothed(h.losses)))),
        ]
        if !h.validation.isEmpty {
            lossSeries.append(Series(name: "validation loss", color: "#d9480f",
                                     points: h.validation.map { (Double($0.step), $0.loss) }, markers: true))
        }
        charts.append(svgChart(title: "Loss", series: lossSeries))
        charts.append(svgChart(title: "Learning rate",
                               series: [Series(name: "learning rate", color: "#2b8a3e", points: Array(zip(x, h.learningRates)))]))
        charts.append(svgChart(title: "Throughput (tokens/s)",
                               series: [Series(name: "tokens/s", color: "#862e9c", points: Array(zip(x, h.tokensPerSecond)))]))
        charts.append(svgChart(title: "Gradient norm (before clipping)",
                               series: [Series(name: "grad norm", color: "#e67700", points: Array(zip(x, h.gradientNorms)))]))

        var results: [(String, String)] = [
            ("Steps", "\(result.steps) of \(result.totalSteps)\(result.stopReason.map { " (\($0))" } ?? "")"),
            ("Final training loss", h.losses.last.map { fmt($0) } ?? "–"),
            ("Final training loss (smoothed)", smoothed(h.losses).last.map { fmt($0) } ?? "–"),
        ]
        if let v = h.validation.last { results.append(("Final validation loss", "\(fmt(v.loss)) (step \(v.step))")) }
        if let b = result.bestValidationLoss {
            results.append(("Best validation loss", "\(fmt(b)) (step \(result.bestStep.map(String.init) ?? "?"))"))
        }
        results += [
            ("Tokens", "\(result.tokens)"),
            ("Wall time", ProgressPrinter.duration(result.wallSeconds) + String(format: " (%.1f s)", result.wallSeconds)),
            ("Throughput", String(format: "%.0f tokens/s", result.tokensPerSecond)),
            ("Peak memory (RSS)", String(format: "%.1f MB", Double(result.peakMemoryBytes) / 1_048_576)),
        ]
        let argumentRows = argumentList(arguments)

        func table(_ rows: [(String, String)]) -> String {
            "<table>" + rows.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined() + "</table>"
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 780px;
               color: #222; }
        h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
        table { border-collapse: collapse; margin: 0.5em 0; } th, td { padding: 3px 12px 3px 0; text-align: left; }
        th { font-weight: 600; color: #444; } td { font-family: ui-monospace, Menlo, monospace; }
        svg { display: block; margin: 1em 0; } .axis { stroke: #888; } .grid { stroke: #e5e5e5; }
        svg text { font-size: 11px; fill: #444; }
        </style></head><body>
        <h1>\(escape(title))</h1>
        <h2>Results</h2>
        \(table(results))
        \(charts.joined(separator: "\n"))
        <h2>Arguments</h2>
        \(table(argumentRows))
        </body></html>

        """
    }

    /// Writes the page to `url` (durably, via a temporary file).
    public static func write(_ html: String, to url: URL) throws {
        try writeDurably(Data(html.utf8), to: url)
    }

    /// TensorBoard's smoothing: an exponential moving average divided by (1 - weightⁿ) so that the start is not
    /// pulled to 0; weight 0.6 (TensorBoard's default) for runs under 100 steps, 0.9 for longer ones.
    public static func smoothed(_ values: [Double], weight: Double? = nil) -> [Double] {
        let weight = weight ?? (values.count < 100 ? 0.6 : 0.9)
        var ema = 0.0, debias = 1.0
        return values.map { v in
            ema = ema * weight + (1 - weight) * v
            debias *= weight
            return ema / (1 - debias)
        }
    }

    struct Series {
        var name: String
        var color: String
        var points: [(Double, Double)]
        var markers = false
    }

    static func argumentList(_ arguments: TrainingArguments) -> [(String, String)] {
        guard let data = try? JSONEncoder().encode(arguments),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return object.keys.sorted().map { key in
            let value = object[key].map { v -> String in
                if v is NSNull { return "none" }
                if let a = v as? [Any] { return "[" + a.map { "\($0)" }.joined(separator: ", ") + "]" }
                return "\(v)"
            } ?? "null"
            return (key, value)
        }
    }

    /// A line chart with axes, five ticks per axis and a legend.
    static func svgChart(title: String, series: [Series]) -> String {
        let W = 760.0, H = 260.0, left = 64.0, right = 16.0, top = 28.0, bottom = 36.0
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        var svg = "<h2>\(escape(title))</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" "
            + "height=\(q(H)) viewBox=\"0 0 \(Int(W)) \(Int(H))\" role=\"img\" aria-label=\"\(escape(title))\">"
        guard !all.isEmpty else { return svg + "<text x=\"\(left)\" y=\"\(H / 2)\">no data</text></svg>" }
        var (x0, x1) = (all.map(\.0).min()!, all.map(\.0).max()!)
        var (y0, y1) = (all.map(\.1).min()!, all.map(\.1).max()!)
        if x1 == x0 { x0 -= 1; x1 += 1 }
        if y1 == y0 { let d = max(abs(y0) * 0.1, 1e-12); y0 -= d; y1 += d }
        let yTicks = niceTicks(y0, y1)
        (y0, y1) = (yTicks.first ?? y0, yTicks.last ?? y1)
        let xTicks = niceTicks(x0, x1, minimumStep: 1).filter { $0 >= x0 && $0 <= x1 }
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (W - left - right) }
        func py(_ y: Double) -> Double { H - bottom - (y - y0) / (y1 - y0) * (H - top - bottom) }
        for yv in yTicks {
            let yp = py(yv)
            svg += "<line stroke=\"#e5e5e5\" x1=\(q(left)) y1=\(q(yp)) x2=\(q(W - right)) y2=\(q(yp))/>"
            svg += "<text x=\(q(left - 6)) y=\(q(yp + 4)) text-anchor=\"end\">\(tick(yv))</text>"
        }
        for xv in xTicks {
            svg += "<text x=\(q(px(xv))) y=\(q(H - bottom + 16)) text-anchor=\"middle\">\(tick(xv))</text>"
        }
        svg += "<line stroke=\"#888\" x1=\(q(left)) y1=\(q(H - bottom)) x2=\(q(W - right)) y2=\(q(H - bottom))/>"
        svg += "<line stroke=\"#888\" x1=\(q(left)) y1=\(q(top)) x2=\(q(left)) y2=\(q(H - bottom))/>"
        svg += "<text x=\(q((left + W - right) / 2)) y=\(q(H - 4)) text-anchor=\"middle\">step</text>"
        var legendX = left + 8
        for s in series {
            let pts = s.points.filter { $0.0.isFinite && $0.1.isFinite }
            let path = pts.map { "\(r(px($0.0))),\(r(py($0.1)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>"
            if s.markers {
                for p in pts { svg += "<circle cx=\(q(px(p.0))) cy=\(q(py(p.1))) r=\"3\" fill=\"\(s.color)\"/>" }
            }
            svg += "<rect x=\(q(legendX)) y=\"10\" width=\"12\" height=\"3\" fill=\"\(s.color)\"/>"
            svg += "<text x=\(q(legendX + 16)) y=\"15\">\(escape(s.name))</text>"
            legendX += 28 + Double(s.name.count) * 6.2
        }
        return svg + "</svg>"
    }

    /// Round tick values (1, 2 or 5 times a power of ten apart, at least `minimumStep`) covering [low, high].
    static func niceTicks(_ low: Double, _ high: Double, count: Int = 5, minimumStep: Double = 0) -> [Double] {
        let raw = max((high - low) / Double(count - 1), minimumStep, 1e-300)
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let f = raw / magnitude
        let step = max((f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude, minimumStep)
        let first = (low / step).rounded(.down), last = (high / step).rounded(.up)
        guard last - first < 100 else { return [low, high] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func r(_ x: Double) -> String { String(format: "%.1f", x) }
    static func q(_ x: Double) -> String { "\"" + r(x) + "\"" }

    static func tick(_ v: Double) -> String {
        let a = abs(v)
        if a < 1e-12 { return "0" }
        if a < 1e-2 || a >= 1e5 { return String(format: "%.3g", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }

    static func fmt(_ x: Double) -> String { String(format: "%.4f", x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
