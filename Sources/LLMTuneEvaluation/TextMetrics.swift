// Metrics of generated text against references.
// References: lm-evaluation-harness `exact_match` (ignore_case, ignore_punctuation = string.punctuation removed);
// Google's rouge-score `rouge_scorer` (rougeL: LCS F-measure over the default tokenizer: lowercase, runs of
// [^a-z0-9] become spaces, no stemming); sacrebleu 2.x `BLEU` (corpus BLEU, tokenizer 13a, 4-grams, `exp`
// smoothing, closest reference length, scores 0-100).
import Foundation

/// How texts are normalized before exact match / contains.
public struct TextNormalization: Sendable, Equatable, Codable {
    /// Strip leading and trailing whitespace. Default true.
    public var trim = true
    /// Compare lowercased. Default false.
    public var ignoreCase = false
    /// Remove ASCII punctuation (Python string.punctuation). Default false.
    public var ignorePunctuation = false
    /// Collapse runs of whitespace into one space. Default false.
    public var collapseWhitespace = false

    public init(trim: Bool = true, ignoreCase: Bool = false, ignorePunctuation: Bool = false,
                collapseWhitespace: Bool = false) {
        self.trim = trim
        self.ignoreCase = ignoreCase
        self.ignorePunctuation = ignorePunctuation
        self.collapseWhitespace = collapseWhitespace
    }

    public func apply(_ text: String) -> String {
        var s = text
        if ignoreCase { s = s.lowercased() }
        if ignorePunctuation { s = String(s.unicodeScalars.filter { !TextMetrics.asciiPunctuation.contains($0) }.map(Character.init)) }
        if collapseWhitespace {
            s = s.split(whereSeparator: { $0.unicodeScalars.allSatisfy(Perplexity.isPythonWhitespace) }).joined(separator: " ")
        }
        if trim { s = s.trimmingCharacters(in: .whitespacesAndNewlines) }
        return s
    }
}

public enum TextMetrics {
    static let asciiPunctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    /// 1 when the normalized prediction equals any normalized reference.
    public static func exactMatch(_ prediction: String, references: [String], normalization: TextNormalization) -> Double {
        let p = normalization.apply(prediction)
        return references.contains { normalization.apply($0) == p } ? 1 : 0
    }

    /// 1 when any normalized reference occurs in the normalized prediction.
    public static func contains(_ prediction: String, references: [String], normalization: TextNormalization) -> Double {
        let p = normalization.apply(prediction)
        return references.contains { p.contains(normalization.apply($0)) } ? 1 : 0
    }

    // MARK: ROUGE-L

    /// rouge-score's default tokenizer: lowercase, non-[a-z0-9] runs to spaces, split.
    public static func rougeTokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for scalar in text.lowercased().unicodeScalars {
            if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                tokens.append(current)
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// ROUGE-L F-measure (the best over references), as rouge-score's `rougeL`.
    public static func rougeL(_ prediction: String, references: [String]) -> Double {
        let p = rougeTokens(prediction)
        return references.map { reference -> Double in
            let r = rougeTokens(reference)
            if p.isEmpty || r.isEmpty { return 0 }
            let lcs = Double(longestCommonSubsequence(r, p))
            let precision = lcs / Double(p.count), recall = lcs / Double(r.count)
            return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        }.max() ?? 0
    }

    static func longestCommonSubsequence(_ a: [String], _ b: [String]) -> Int {
        var previous = [Int](repeating: 0, count: b.count + 1)
        var row = previous
        for x in a {
            for (j, y) in b.enumerated() {
                row[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], row[j])
            }
            swap(&previous, &row)
        }
        return previous[b.count]
    }

    // MARK: BLEU

    /// sacrebleu's 13a tokenization (mteval-v13a).
    public static func tokenize13a(_ line: String) -> [String] {
        var s = line.replacingOccurrences(of: "<skipped>", with: "")
            .replacingOccurrences(of: "-\n", with: "").replacingOccurrences(of: "\n", with: " ")
        if s.contains("&") {
            s = s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        }
        s = " \(s) "
        for (regex, template) in bleuRules {
            s = regex.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template)
        }
        return s.split(whereSeparator: { $0.unicodeScalars.allSatisfy(Perplexity.isPythonWhitespace) }).map(String.init)
    }

    /// sacrebleu's 13a tokenizer rules. The patterns are constants of this file (never user input), compiled
    /// once; a unit test exercises every one, so `try!` cannot fail at run time.
    nonisolated(unsafe) static let bleuRules: [(NSRegularExpression, String)] = [
        (try! NSRegularExpression(pattern: #"([\{-\~\[-\` -\&\(-\+\:-\@\/])"#), " $1 "),
        (try! NSRegularExpression(pattern: #"([^0-9])([\.,])"#), "$1 $2 "),
        (try! NSRegularExpression(pattern: #"([\.,])([^0-9])"#), " $1 $2"),
        (try! NSRegularExpression(pattern: #"([0-9])(-)"#), "$1 $2 "),
    ]

    /// Corpus BLEU (0-100) of `predictions` against `references` (one or more per prediction), as
    /// `sacrebleu.corpus_bleu` with its defaults.
    public static func corpusBLEU(_ predictions: [String], references: [[String]]) -> Double {
        precondition(predictions.count == references.count, "one reference list per prediction")
        var correct = [Double](repeating: 0, count: 4), total = [Double](repeating: 0, count: 4)
        var hypothesisLength = 0.0, referenceLength = 0.0
        for (prediction, refs) in zip(predictions, references) {
            let h = tokenize13a(prediction)
            let rs = refs.map(tokenize13a)
            hypothesisLength += Double(h.count)
            // Closest reference length, ties to the shorter.
            if let closest = rs.map(\.count).min(by: { (abs($0 - h.count), $0) < (abs($1 - h.count), $1) }) {
                referenceLength += Double(closest)
            }
            for n in 1...4 {
                let hc = ngramCounts(h, n)
                var maxRef: [ArraySlice<String>: Int] = [:]
                for r in rs { for (g, c) in ngramCounts(r, n) { maxRef[g] = max(maxRef[g] ?? 0, c) } }
                for (g, c) in hc { correct[n - 1] += Double(min(c, maxRef[g] ?? 0)) }
                total[n - 1] += Double(max(0, h.count - n + 1))
            }
        }
        var precisions = [Double](repeating: 0, count: 4)
        var smooth = 1.0
        for n in 0..<4 {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * total[n])
            } else {
                precisions[n] = 100 * correct[n] / total[n]
            }
        }
        let brevity = hypothesisLength < referenceLength
            ? (hypothesisLength > 0 ? exp(1 - referenceLength / hypothesisLength) : 0) : 1
        let logs = precisions.map { $0 == 0 ? -9_999_999_999.0 : log($0) }
        return brevity * exp(logs.reduce(0, +) / 4)
    }

    static func ngramCounts(_ tokens: [String], _ n: Int) -> [ArraySlice<String>: Int] {
        var counts: [ArraySlice<String>: Int] = [:]
        if tokens.count < n { return counts }
        for i in 0...(tokens.count - n) { counts[tokens[i..<(i + n)], default: 0] += 1 }
        return counts
    }

    // MARK: Ranked lists

    /// Items of a ranked-list answer: split on newlines and commas, list markers ("1.", "2)", "-", "*") dropped,
    /// normalized, empty items removed.
    public static func rankedItems(_ text: String, normalization: TextNormalization) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == "\r\n" }).compactMap { piece in
            var item = piece.trimmingCharacters(in: .whitespaces)
            if let marker = item.range(of: #"^(\d+[.)]|[-*•])\s*"#, options: .regularExpression) {
                item.removeSubrange(marker)
            }
            let normalized = normalization.apply(item)
            return normalized.isEmpty ? nil : normalized
        }
    }

    /// |relevant items among the first k| / k.
    public static func precisionAtK(_ items: [String], relevant: Set<String>, k: Int) -> Double {
        Double(items.prefix(k).filter(relevant.contains).count) / Double(k)
    }

    /// Average precision at k: the sum of precision@i at each rank i <= k holding a relevant item (counted once),
    /// divided by min(k, |relevant|).
    public static func averagePrecisionAtK(_ items: [String], relevant: Set<String>, k: Int) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var hits = 0.0, total = 0.0
        var seen = Set<String>()
        for (i, item) in items.prefix(k).enumerated() where relevant.contains(item) && !seen.contains(item) {
            seen.insert(item)
            hits += 1
            total += hits / Double(i + 1)
        }
        return total / Double(min(k, relevant.count))
    }
}
