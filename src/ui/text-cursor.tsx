import { Text } from 'ink';
import { stylesShow } from './theme.js';

/** Where typing goes in a field: an inverse cell, or an underscore where styles do not show. */
export function TextCursor() {
  return stylesShow() ? <Text inverse> </Text> : <Text>_</Text>;
}
