// Placeholder until the firmware build lands: builds nothing.
console.log('firmware: nothing to build yet');
