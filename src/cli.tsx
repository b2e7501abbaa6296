process.stdout.write('nightshift\n');
