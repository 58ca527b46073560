import { v5Adapter } from "./adapter-v5";
import { startDemo } from "./ui";

startDemo(v5Adapter);
