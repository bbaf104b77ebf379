// Node-only part of the ViT conversion (file system access); re-exported by the package's Node entry.

export { openConvertedVitTensors } from "./converted.js";
export { openVitRelease, type VitRelease } from "./release.js";
export { type WrittenModel, writeVitModel } from "./write-model.js";
