import { v6Adapter } from "./adapter-v6";
import { startDemo } from "./ui";

startDemo(v6Adapter);
