// The files of a converted LM folder: named here, apart from the writer (Node), so readers on any platform
// can use the names.

export const LM_GRAPH_FILE = "lm.onnx";
export const LM_DATA_FILE = `${LM_GRAPH_FILE}.data`;
