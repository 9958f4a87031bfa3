import { bitskipConfig } from '@bitskip/eslint-config';

export default bitskipConfig({ tsconfigRootDir: import.meta.dirname });
