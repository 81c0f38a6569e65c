// codeexec's pre-started Java. Compiled into the image by Java's `image_prepare` (in
// /usr/local/lib/codeexec/java, with a class-data archive of what javac loads) and started as
// `java ... -cp /usr/local/lib/codeexec/java CodeexecJavaLoader` before the job arrives. It warms
// javac up by compiling a tiny class, says `ready` and a newline on file descriptor 4, then serves
// one job:
//  1. on file descriptor 3 the compile request: the count of arguments, then each argument, every
//     one ending with a NUL byte; the arguments are the compile command's (`javac -J... ARGS`):
//     the command's name and the launcher's `-J` options are left out, the rest goes to javac;
//  2. on file descriptor 4 the outcome: javac's exit code and a newline, then what the `javac`
//     command would print on stdout (nothing: a 0 and a newline) and on stderr, each as its byte
//     length, a newline and those bytes;
//  3. on file descriptor 3 again the program's argv (the entry class, then its arguments,
//     NUL-separated, ending at end of file), whereupon it runs the class's `main` as `java -cp
//     /sandbox` would, but from a class loader of its own over /sandbox whose parent is the
//     platform class loader, so that no class of this loader is visible to the program; an
//     uncaught exception is reported by the thread's handler (less this loader's frames) with
//     exit code 1.
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.TimeZone;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

class CodeexecJavaLoader {
    private static final String SANDBOX = "/sandbox";

    public static void main(String[] ignored) throws Throwable {
        // The program's class path, as `java -cp /sandbox` gives it; javac in this JVM takes its
        // default class path from it too, as the `javac` command in /sandbox takes ".".
        System.setProperty("java.class.path", SANDBOX);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        warmUp(javac);
        // What the warm-up left is garbage: collected now, the heap shrinks back and the waiting
        // JVM leaves the job's memory limit as much room as it can.
        System.gc();
        // The warm-up read the time zone, which sets user.timezone: back to a plain JVM's state,
        // where the program's first use of it does that.
        System.clearProperty("user.timezone");
        TimeZone.setDefault(null);
        OutputStream report = new FileOutputStream("/proc/self/fd/4");
        // Warm: the runner starts the compile stage's clock only now.
        report.write("ready\n".getBytes(StandardCharsets.US_ASCII));
        report.flush();
        // Buffered: FileInputStream.readAllBytes seeks, which a pipe cannot do.
        InputStream control = new BufferedInputStream(new FileInputStream("/proc/self/fd/3"));
        List<String> compileArgs = readCounted(control);
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int code = javac.run(null, null, diagnostics, javacArgs(compileArgs));
        byte[] text = diagnostics.toByteArray();
        report.write((code + "\n0\n" + text.length + "\n").getBytes(StandardCharsets.US_ASCII));
        report.write(text);
        report.close();
        if (code != 0) {
            return;
        }
        List<String> argv = split(control.readAllBytes());
        control.close();
        run(argv.get(0), argv.subList(1, argv.size()).toArray(new String[0]));
    }

    /// Compiles a tiny class in the temporary directory and deletes it: the JIT and javac's
    /// caches are warm when the job's compile comes.
    private static void warmUp(JavaCompiler javac) throws IOException {
        Path dir = Files.createTempDirectory(".codeexec-warm-up");
        Path source = dir.resolve("WarmUp.java");
        Files.writeString(source, "class WarmUp { public static void main(String[] a) { "
                + "System.out.println(java.util.List.of(a.length)); } }\n");
        javac.run(null, null, new ByteArrayOutputStream(), "-d", dir.toString(), source.toString());
        try (var files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.delete(file);
            }
        }
        Files.delete(dir);
    }

    /// The compile command's arguments as javac takes them: without the command's name and the
    /// launcher's own `-J` options.
    private static String[] javacArgs(List<String> command) {
        return command.stream().skip(1).filter(arg -> !arg.startsWith("-J")).toArray(String[]::new);
    }

    private static List<String> readCounted(InputStream in) throws IOException {
        int count = Integer.parseInt(readUntilNul(in));
        List<String> args = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            args.add(readUntilNul(in));
        }
        return args;
    }

    private static String readUntilNul(InputStream in) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int b = in.read(); b != 0; b = in.read()) {
            if (b < 0) {
                throw new IOException("the control pipe ended early");
            }
            bytes.write(b);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static List<String> split(byte[] message) {
        return Arrays.asList(new String(message, StandardCharsets.UTF_8).split("\0", -1));
    }

    /// Runs `className`'s `main` as the `java` launcher would.
    private static void run(String className, String[] args) throws Throwable {
        StringBuilder command = new StringBuilder(className);
        for (String arg : args) {
            command.append(' ').append(arg);
        }
        System.setProperty("sun.java.command", command.toString());
        ClassLoader application = new URLClassLoader(
                new URL[] {Path.of(SANDBOX).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        Thread main = Thread.currentThread();
        main.setContextClassLoader(application);
        MethodHandle entry = mainMethod(className, application);
        StackTraceElement[] below = new Throwable().getStackTrace();
        try {
            // Initialised here, as the launcher does after finding main: an exception in the
            // class's static initialiser is then reported as the launcher's is.
            Class.forName(className, true, application);
            entry.invokeExact(args);
        } catch (Throwable uncaught) {
            withoutFrames(uncaught, below, Collections.newSetFromMap(new IdentityHashMap<>()));
            main.getUncaughtExceptionHandler().uncaughtException(main, uncaught);
            // The launcher's exit code 1, after the other non-daemon threads end, with nothing
            // printed: the handler above has reported the exception already.
            main.setUncaughtExceptionHandler((thread, ignoredAgain) -> { });
            throw new Reported();
        }
    }

    /// `main(String[])` of the class, found as the launcher finds it, or the launcher's message
    /// and exit code when there is none.
    private static MethodHandle mainMethod(String className, ClassLoader loader) throws Throwable {
        Class<?> entry;
        try {
            entry = Class.forName(className, false, loader);
        } catch (ClassNotFoundException | LinkageError error) {
            System.err.println("Error: Could not find or load main class " + className);
            System.err.println("Caused by: " + error);
            System.exit(1);
            throw error;
        }
        Method method;
        try {
            method = entry.getMethod("main", String[].class);
        } catch (NoSuchMethodException missing) {
            System.err.println("Error: Main method not found in class " + className
                    + ", please define the main method as:\n   public static void main(String[] args)\n"
                    + "or a JavaFX application class must extend javafx.application.Application");
            System.exit(1);
            throw missing;
        }
        if (!Modifier.isStatic(method.getModifiers())) {
            System.err.println("Error: Main method is not static in class " + className
                    + ", please define the main method as:\n   public static void main(String[] args)");
            System.exit(1);
        }
        if (method.getReturnType() != void.class) {
            System.err.println("Error: Main method must return a value of type void in class "
                    + className + ", please \ndefine the main method as:\n"
                    + "   public static void main(String[] args)");
            System.exit(1);
        }
        method.setAccessible(true);
        return MethodHandles.lookup().unreflect(method);
    }

    /// Takes this loader's frames (`below`, the frames under the call of `main`) off the end of
    /// every trace in the exception's graph.
    private static void withoutFrames(Throwable error, StackTraceElement[] below, Set<Throwable> seen) {
        if (error == null || !seen.add(error)) {
            return;
        }
        StackTraceElement[] trace = error.getStackTrace();
        int keep = trace.length - below.length;
        if (keep >= 0 && endsWith(trace, below)) {
            // And Class.forName's frames, when the class's initialisation failed.
            while (keep > 0 && trace[keep - 1].getClassName().equals("java.lang.Class")) {
                keep--;
            }
            error.setStackTrace(Arrays.copyOf(trace, keep));
        }
        withoutFrames(error.getCause(), below, seen);
        for (Throwable suppressed : error.getSuppressed()) {
            withoutFrames(suppressed, below, seen);
        }
    }

    /// Whether `trace` ends with `below`'s methods; the first of them (the call of `main`) may
    /// stand at another line.
    private static boolean endsWith(StackTraceElement[] trace, StackTraceElement[] below) {
        int offset = trace.length - below.length;
        for (int i = 0; i < below.length; i++) {
            StackTraceElement mine = trace[offset + i];
            StackTraceElement theirs = below[i];
            boolean same = mine.getClassName().equals(theirs.getClassName())
                    && mine.getMethodName().equals(theirs.getMethodName())
                    && (i == 0 || mine.getLineNumber() == theirs.getLineNumber());
            if (!same) {
                return false;
            }
        }
        return true;
    }

    /// Thrown once the program's uncaught exception has been reported, for the exit code.
    private static final class Reported extends Throwable {
        Reported() {
            super(null, null, false, true);
        }
    }
}
