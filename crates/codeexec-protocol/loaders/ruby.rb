# codeexec's pre-started Ruby: started as `ruby THIS` before the job arrives, it deletes its own
# file, says `ready` on file descriptor 4 and closes it, waits for its program's argv on file
# descriptor 3 (NUL-separated, ending at EOF), then runs the entry file as `ruby ENTRY ARGS...`
# would: the same $0, __FILE__, ARGV, DATA and command line, its code compiled as the main script
# (`<main>`), and an uncaught exception reported by Ruby itself, less this loader's frames. It
# requires nothing and defines no constant or global.
File.delete(__FILE__)
ready = IO.new(4)
ready.write("ready\n")
ready.close
control = IO.new(3)
argv = control.read.force_encoding(Encoding::UTF_8).split("\0", -1)
control.close
entry = argv.shift
$0 = entry
ARGV.replace(argv)

# What /proc/self/cmdline (and ps) show: the plain command, written over this process's own
# argument area when it fits; the area keeps its length, so NUL bytes follow it.
fields = File.binread("/proc/self/stat").rpartition(")").last.split
# arg_start and arg_end are fields 48 and 49 of proc(5); the split begins at field 3.
area_start = fields[45].to_i
area_end = fields[46].to_i
shown = ["ruby", entry, *argv].join("\0").b + "\0"
if shown.bytesize <= area_end - area_start
  File.open("/proc/self/mem", "r+b") do |memory|
    memory.seek(area_start)
    memory.write(shown.ljust(area_end - area_start, "\0"))
  end
end

source = File.binread(entry)
data_at = source =~ /^__END__\r?\n/
if data_at
  data = File.open(entry)
  data.seek(data_at + Regexp.last_match(0).bytesize)
  Object.const_set(:DATA, data)
end
loader = __FILE__
begin
  RubyVM::InstructionSequence.compile_file(entry).eval
rescue Exception => error # rubocop:disable Lint/RescueException
  raise if error.is_a?(SystemExit)
  error.set_backtrace(error.backtrace.reject { |line| line.start_with?("#{loader}:") })
  raise error
end
