// The files of a converted LM folder: named here, apart from the writer (Node), so readers on any platform
// can use the names and the descriptor type.
import type { ConvertedLanguageModel } from "./convert.js";

export const LM_GRAPH_FILE = "lm.onnx";
export const LM_DATA_FILE = `${LM_GRAPH_FILE}.data`;
export const LM_CONFIG_FILE = "lm.json";

/** The content of lm.json: what a loader needs before it opens the graph. */
export interface LanguageModelDescriptor extends ConvertedLanguageModel {
  format: "mamba-lm";
  formatVersion: number;
  graphFile: string;
  dataFiles: string[];
}
