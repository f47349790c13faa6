// Post-processors: the special tokens added around an encoded sequence when `addSpecialTokens` is true
// (HF tokenizers `processors/`: TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel,
// Sequence). Only single sequences are encoded here; pair templates are read but not used.

/// A post-processor for one sequence.
public protocol PostProcessor: Sendable {
    func process(_ ids: [Int]) -> [Int]
}

/// HF `TemplateProcessing`, single-sequence part: e.g. `<|begin_of_text|> $A`.
public struct TemplateProcessor: PostProcessor {
    public enum Item: Sendable, Equatable {
        case sequence
        case special(ids: [Int])
    }

    public var single: [Item]

    public init(single: [Item]) {
        self.single = single
    }

    /// BOS and/or EOS around the sequence (transformers' rule for `add_bos_token` / `add_eos_token`).
    public init(bos: Int?, eos: Int?) {
        var items: [Item] = []
        if let bos { items.append(.special(ids: [bos])) }
        items.append(.sequence)
        if let eos { items.append(.special(ids: [eos])) }
        single = items
    }

    public func process(_ ids: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(ids.count + single.count)
        for item in single {
            switch item {
            case .sequence: out.append(contentsOf: ids)
            case .special(let specialIds): out.append(contentsOf: specialIds)
            }
        }
        return out
    }
}

/// HF `RobertaProcessing` / `BertProcessing`: `cls $A sep`.
public struct ClassifierProcessor: PostProcessor {
    public var classifierId: Int
    public var separatorId: Int

    public init(classifierId: Int, separatorId: Int) {
        self.classifierId = classifierId
        self.separatorId = separatorId
    }

    public func process(_ ids: [Int]) -> [Int] { [classifierId] + ids + [separatorId] }
}

/// HF `ByteLevel` post-processing only trims offsets: ids are unchanged.
public struct IdentityProcessor: PostProcessor {
    public init() {}
    public func process(_ ids: [Int]) -> [Int] { ids }
}

/// Several post-processors applied in order.
public struct SequenceProcessor: PostProcessor {
    public var processors: [PostProcessor]

    public init(_ processors: [PostProcessor]) {
        self.processors = processors
    }

    public func process(_ ids: [Int]) -> [Int] {
        processors.reduce(ids) { $1.process($0) }
    }
}

/// Builds post-processors from tokenizer.json.
public enum PostProcessorFactory {
    /// The post-processor described by `json`, nil for JSON null. `idOf` resolves token strings.
    public static func make(_ json: JSONValue, source: String, idOf: (String) -> Int?) throws -> PostProcessor? {
        if json.isNull { return nil }
        guard let type = json["type"]?.string else {
            throw TokenizerError.missingKey(key: "post_processor.type", source: source)
        }
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.array else {
                throw TokenizerError.missingKey(key: "post_processor.single", source: source)
            }
            let specials = json["special_tokens"]?.object ?? [:]
            var items: [TemplateProcessor.Item] = []
            for piece in single {
                if piece["Sequence"] != nil {
                    items.append(.sequence)
                } else if let name = piece["SpecialToken"]?["id"]?.string {
                    if let ids = specials[name]?["ids"]?.array {
                        items.append(.special(ids: try ids.map { value in
                            guard let id = value.int else {
                                throw TokenizerError.invalidValue(key: "post_processor.special_tokens.\(name)",
                                                                  source: source, message: "ids must be integers")
                            }
                            return id
                        }))
                    } else if let id = idOf(name) {
                        items.append(.special(ids: [id]))
                    } else {
                        throw TokenizerError.invalidValue(key: "post_processor.single", source: source,
                                                          message: "special token '\(name)' is not in the vocabulary")
                    }
                } else {
                    throw TokenizerError.invalidValue(key: "post_processor.single", source: source,
                                                      message: "items must be Sequence or SpecialToken")
                }
            }
            return TemplateProcessor(single: items)
        case "RobertaProcessing", "BertProcessing":
            guard let cls = json["cls"]?.array, cls.count == 2, let clsId = cls[1].int,
                  let sep = json["sep"]?.array, sep.count == 2, let sepId = sep[1].int else {
                throw TokenizerError.invalidValue(key: "post_processor", source: source,
                                                  message: "\(type) needs cls and sep as [token, id]")
            }
            return ClassifierProcessor(classifierId: clsId, separatorId: sepId)
        case "ByteLevel":
            return IdentityProcessor()
        case "Sequence":
            guard let list = json["processors"]?.array else {
                throw TokenizerError.missingKey(key: "post_processor.processors", source: source)
            }
            return SequenceProcessor(try list.compactMap { try make($0, source: source, idOf: idOf) })
        default:
            throw TokenizerError.unsupportedComponent(
                kind: "post-processor", type: type, source: source,
                hint: "Supported: TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel, Sequence.")
        }
    }
}
